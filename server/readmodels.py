"""The web side's handle on the read models: it reads them, never projects them."""

from __future__ import annotations

import threading

from flask import current_app

from projections.db import Database
from server.config import Settings

_lock = threading.Lock()


def readmodel_database(settings: Settings) -> Database:
    """The read-model store beside the event store (see README, "Read models")."""
    if settings.uses_postgres:
        return Database(postgres_url=settings.database_url)
    return Database(sqlite_path=settings.readmodel_sqlite_path)


def readmodels() -> Database:
    """This process's read-model database for the current Flask app."""
    extensions = current_app.extensions
    db = extensions.get("pantau.readmodels")
    if db is None:
        with _lock:
            db = extensions.get("pantau.readmodels")
            if db is None:
                db = readmodel_database(extensions["pantau.settings"])
                extensions["pantau.readmodels"] = db
    return db
