"""gunicorn settings used by the Procfile, the demo and the benchmarks.

No preload: each worker builds its own eventsourcing application after the fork
(a PostgreSQL pool created before fork hangs its workers).
"""

import multiprocessing
import os

bind = os.environ.get("PANTAU_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PANTAU_WEB_WORKERS", str(min(4, multiprocessing.cpu_count() * 2))))
threads = int(os.environ.get("PANTAU_WEB_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = 30
graceful_timeout = 10
# Access lines carry paths and status only: tokens travel in headers, NIK only in bodies.
accesslog = "-" if os.environ.get("PANTAU_ACCESS_LOG") else None
errorlog = "-"
