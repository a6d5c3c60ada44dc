"""The worker process: projections in the main loop, the ledger follower and push delivery beside it.

Each companion loop runs in its own thread with its own eventsourcing application and database
handles, so a slow push service never delays the read models and nothing is shared across threads.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from projections.worker import Worker
from server.config import Settings
from server.readmodels import readmodel_database
from server.services import build_application

log = logging.getLogger(__name__)
COMPANION_IDLE_SECONDS = 0.5
COMPANION_ERROR_BACKOFF_SECONDS = 5.0
ALERT_CHECK_SECONDS = 60.0


def build_worker(settings: Settings) -> Worker:
    """A worker over this configuration's event store and read-model store."""
    application = build_application(settings)
    return Worker(application, readmodel_database(settings), batch_size=settings.projection_batch_size)


def _ledger_loop(settings: Settings, stop: threading.Event) -> Callable[[], None]:
    from server.ledger.service import open_ledger

    application = build_application(settings)
    ledger = open_ledger(settings, application)

    def loop() -> None:
        try:
            _repeat(lambda: ledger.follower.catch_up() > 0, stop, "ledger follower")
        finally:
            ledger.close()
            application.close()

    return loop


def _push_loop(settings: Settings, stop: threading.Event) -> Callable[[], None]:
    from server.push.dispatcher import PushDispatcher
    from server.push.store import push_database

    application = build_application(settings)
    dispatcher = PushDispatcher(application, push_database(settings), settings)

    def step() -> bool:
        stats = dispatcher.catch_up()
        return bool(stats.enqueued or stats.sent or stats.retried)

    def loop() -> None:
        try:
            _repeat(step, stop, "push dispatcher")
        finally:
            dispatcher.db.close()
            application.close()

    return loop


def _alert_loop(settings: Settings, stop: threading.Event) -> Callable[[], None]:
    from projections.read import AlertRules
    from server.push.alert_watch import AlertWatcher

    application = build_application(settings)
    db = readmodel_database(settings)
    watcher = AlertWatcher(
        application, db, AlertRules(settings.alert_no_visit_days, settings.alert_correction_wait_days)
    )

    def step() -> bool:
        watcher.check()
        return False  # alerts are about days, not milliseconds: one pass, then wait a minute

    def loop() -> None:
        try:
            _repeat(step, stop, "alert watcher", idle=ALERT_CHECK_SECONDS)
        finally:
            db.close()
            application.close()

    return loop


def _repeat(step: Callable[[], bool], stop: threading.Event, name: str, idle: float = COMPANION_IDLE_SECONDS) -> None:
    """Run `step` until stopped; idle when it found nothing, back off after an error."""
    while not stop.is_set():
        try:
            busy = step()
        except Exception:
            # Keep the process alive for the other loops; the error is logged and retried later.
            log.exception("%s failed; retrying in %ss", name, COMPANION_ERROR_BACKOFF_SECONDS)
            stop.wait(COMPANION_ERROR_BACKOFF_SECONDS)
            continue
        if not busy:
            stop.wait(idle)


def start_companions(settings: Settings, stop: threading.Event) -> list[threading.Thread]:
    """The ledger follower, the push dispatcher and the alert watcher, each in a thread of its own.

    Both are built here, one after the other, so their schema creation never races; only their
    loops run in the threads.
    """
    threads = [
        threading.Thread(target=_ledger_loop(settings, stop), name="ledger", daemon=True),
        threading.Thread(target=_push_loop(settings, stop), name="push", daemon=True),
        threading.Thread(target=_alert_loop(settings, stop), name="alerts", daemon=True),
    ]
    for thread in threads:
        thread.start()
    return threads


def run_worker(settings: Settings, stop: threading.Event, extra_stop: Callable[[], bool] = lambda: False) -> None:
    """Projections in this thread, companions beside it, until `stop` is set or `extra_stop()` says so."""
    worker = build_worker(settings)
    companions = start_companions(settings, stop)
    log.info("worker started at positions %s", worker.positions())
    try:
        worker.run_forever(stop=lambda: stop.is_set() or extra_stop())
    finally:
        stop.set()
        for thread in companions:
            thread.join(timeout=15)
        worker.application.close()
        worker.db.close()


def run_until_signalled(settings: Settings) -> None:
    """The Procfile's worker: follow the log until SIGTERM or SIGINT."""
    stop = install_stop_signals()
    run_worker(settings, stop)


def install_stop_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop

