"""Running the projection worker as a process: build it, run it until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading

from projections.worker import Worker
from server.config import Settings
from server.readmodels import readmodel_database
from server.services import build_application

log = logging.getLogger(__name__)


def build_worker(settings: Settings) -> Worker:
    """A worker over this configuration's event store and read-model store."""
    application = build_application(settings)
    return Worker(application, readmodel_database(settings), batch_size=settings.projection_batch_size)


def run_until_signalled(settings: Settings) -> None:
    """The Procfile's worker: follow the log until asked to stop."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    worker = build_worker(settings)
    log.info("projection worker started at positions %s", worker.positions())
    worker.run_forever(stop=stop.is_set)
