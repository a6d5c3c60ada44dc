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
            # The worker creates (and upgrades) the schema when it starts; a web process only fills the
            # gap before the worker's first run. Skipping DDL when the tables exist keeps web start-up
            # from taking table locks the running worker waits on (a deadlock seen on PostgreSQL).
            if not schema_exists(db):
                create_schema(db, default_views())
            return
        except Exception:
            if attempt == SCHEMA_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)


def schema_exists(db: Database) -> bool:
    """Whether the worker's tracking table is there (then every view's tables are too)."""
    try:
        with db.transaction() as cur:
            cur.execute("SELECT 1 FROM rm_tracking LIMIT 1")
    except Exception:  # "no such table" in SQLite's words or PostgreSQL's: either way, not yet
        return False
    return True


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
