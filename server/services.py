"""The per-process eventsourcing application, built on first use (after gunicorn forks, never at import)."""

from __future__ import annotations

import threading

from flask import current_app

from server.config import Settings
from server.domain.application import PantauApplication

_lock = threading.Lock()


def build_application(settings: Settings) -> PantauApplication:
    """A PantauApplication on the configured event store."""
    return PantauApplication(env=settings.eventstore_env())


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
