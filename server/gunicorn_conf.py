"""gunicorn settings used by the Procfile, the demo and the benchmarks.

No preload: each worker builds its own eventsourcing application after the fork
(a PostgreSQL pool created before fork hangs its workers).
"""

import multiprocessing
import os

bind = os.environ.get("PANTAU_BIND", "127.0.0.1:8000")
# One process per core (Python runs one thread at a time per process), each with 8 threads: the saves a
# process's threads queue meanwhile are committed together (server/write_queue.py), so fewer, fuller
# processes mean fewer commits. Measured on 2 cores, 32 connections (python -m tests.bench --only http):
# SQLite ingest p99 62 -> 44 ms and read ratio 0.54 -> 0.60 against 4 workers x 4 threads.
workers = int(os.environ.get("PANTAU_WEB_WORKERS", str(max(2, multiprocessing.cpu_count()))))
threads = int(os.environ.get("PANTAU_WEB_THREADS", "8"))
worker_class = "gthread"
preload_app = False
timeout = 30
graceful_timeout = 10
# Access lines carry paths and status only: tokens travel in headers, NIK only in bodies.
accesslog = "-" if os.environ.get("PANTAU_ACCESS_LOG") else None
errorlog = "-"
