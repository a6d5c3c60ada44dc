"""The web side's handle on the read models: it reads them, never projects them."""

from __future__ import annotations

import threading
import time

from flask import current_app

from projections.db import Database
from projections.worker import create_schema, default_views
from server.config import Settings

_lock = threading.Lock()
SCHEMA_ATTEMPTS = 5


def readmodel_database(settings: Settings) -> Database:
    """The read-model store beside the event store (see README, "Read models")."""
    if settings.uses_postgres:
        return Database(postgres_url=settings.database_url)
    return Database(sqlite_path=settings.readmodel_sqlite_path)


def ensure_schema(db: Database) -> None:
    """Empty read-model tables, so a read before the worker's first run answers "nothing yet", not a 500.

    Creating tables is idempotent and writes no rows: the worker still owns every row. Processes that
    start together on PostgreSQL may collide on the DDL ("tuple concurrently updated"); the loser retries.
    """
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            create_schema(db, default_views())
            return
        except Exception:
            if attempt == SCHEMA_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)


def readmodels() -> Database:
    """This process's read-model database for the current Flask app."""
    extensions = current_app.extensions
    db = extensions.get("pantau.readmodels")
    if db is None:
        with _lock:
            db = extensions.get("pantau.readmodels")
            if db is None:
                db = readmodel_database(extensions["pantau.settings"])
                ensure_schema(db)
                extensions["pantau.readmodels"] = db
    return db
