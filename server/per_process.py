"""Things each process builds once, on first use: after gunicorn forks, never at import time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")
SCHEMA_RACE_ATTEMPTS = 5
_lock = threading.RLock()


def per_process(key: str, build: Callable[[Any], T]) -> T:
    """The object kept under `key` on the current Flask app, built from its settings the first time.

    Re-entrant lock: building one thing (the ledger) may ask for another (the application).
    """
    extensions = current_app.extensions
    value = extensions.get(key)
    if value is None:
        with _lock:
            value = extensions.get(key)
            if value is None:
                value = extensions[key] = build(extensions["pantau.settings"])
    return value


def retry_schema_race(build: Callable[[], T], errors: tuple[type[BaseException], ...]) -> T:
    """Run `build`, again if it lost a race to create the same schema.

    Processes that start together on an empty PostgreSQL database run the same idempotent
    CREATE ... IF NOT EXISTS / OR REPLACE statements and may collide ("tuple concurrently updated");
    the loser only has to try again.
    """
    for attempt in range(1, SCHEMA_RACE_ATTEMPTS):
        try:
            return build()
        except errors:
            time.sleep(0.05 * attempt)
    return build()
