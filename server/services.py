"""The per-process eventsourcing application, built on first use (after gunicorn forks, never at import)."""

from __future__ import annotations

import threading
import time

import psycopg
from eventsourcing.persistence import PersistenceError
from flask import current_app

from server.config import Settings
from server.domain.application import PantauApplication

_lock = threading.Lock()


SCHEMA_RACE_ATTEMPTS = 5


def build_application(settings: Settings) -> PantauApplication:
    """A PantauApplication on the configured event store.

    Several processes (gunicorn workers, the worker's threads) may start at once on an empty
    PostgreSQL database; their idempotent CREATE ... IF NOT EXISTS / OR REPLACE statements can then
    collide ("tuple concurrently updated"). The loser simply builds again.
    """
    for attempt in range(1, SCHEMA_RACE_ATTEMPTS + 1):
        try:
            return PantauApplication(env=settings.eventstore_env())
        except (PersistenceError, psycopg.Error):
            if attempt == SCHEMA_RACE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def pantau() -> PantauApplication:
    """This process's application for the current Flask app."""
    extensions = current_app.extensions
    application = extensions.get("pantau")
    if application is None:
        with _lock:
            application = extensions.get("pantau")
            if application is None:
                application = build_application(extensions["pantau.settings"])
                extensions["pantau"] = application
    return application
