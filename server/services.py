"""The per-process eventsourcing application, built on first use (after gunicorn forks, never at import)."""

from __future__ import annotations

import psycopg
from eventsourcing.persistence import PersistenceError

from server.config import Settings
from server.domain.application import PantauApplication
from server.per_process import per_process, retry_schema_race


def build_application(settings: Settings) -> PantauApplication:
    """A PantauApplication on the configured event store (retried if it lost a schema-creation race)."""
    return retry_schema_race(
        lambda: PantauApplication(env=settings.eventstore_env()), (PersistenceError, psycopg.Error)
    )


def pantau() -> PantauApplication:
    """This process's application for the current Flask app."""
    return per_process("pantau", build_application)
