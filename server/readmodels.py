"""The web side's handle on the read models: it reads them, never projects them."""

from __future__ import annotations

from projections.db import Database
from projections.worker import create_schema, default_views
from server.config import Settings
from server.per_process import per_process, retry_schema_race


def readmodel_database(settings: Settings) -> Database:
    """The read-model store beside the event store (see README, "Read models")."""
    if settings.uses_postgres:
        return Database(postgres_url=settings.database_url)
    return Database(sqlite_path=settings.readmodel_sqlite_path)


def ensure_schema(db: Database) -> None:
    """Empty read-model tables, so a read before the worker's first run answers "nothing yet", not a 500.

    Creating tables is idempotent and writes no rows: the worker still owns every row. The worker
    creates (and upgrades) the schema when it starts; a web process only fills the gap before the
    worker's first run, and skips DDL when the tables exist, so web start-up never takes table locks a
    running worker waits on (a deadlock seen on PostgreSQL).
    """

    def create_if_missing() -> None:
        if not schema_exists(db):
            create_schema(db, default_views())

    # Either engine's "table already exists" or PostgreSQL's "tuple concurrently updated".
    retry_schema_race(create_if_missing, (Exception,))


def schema_exists(db: Database) -> bool:
    """Whether the worker's tracking table is there (then every view's tables are too)."""
    try:
        with db.transaction() as cur:
            cur.execute("SELECT 1 FROM rm_tracking LIMIT 1")
    except Exception:  # "no such table" in SQLite's words or PostgreSQL's: either way, not yet
        return False
    return True


def readmodels() -> Database:
    """This process's read-model database for the current Flask app, its tables created if missing."""

    def build(settings: Settings) -> Database:
        db = readmodel_database(settings)
        ensure_schema(db)
        return db

    return per_process("pantau.readmodels", build)
