"""`pantau push ...`: run the dispatcher on its own, or see what the outbox holds."""

from __future__ import annotations

import signal
import threading
from collections import Counter

import click
from flask import current_app
from flask.cli import with_appcontext

from server.push.dispatcher import PushDispatcher
from server.push.store import create, deliveries, push_database
from server.services import build_application


@click.group("push")
def push() -> None:
    """Web Push notifications."""


@push.command("run")
@with_appcontext
def run_dispatcher() -> None:
    """Follow the event log and deliver pushes until SIGTERM/SIGINT (one dispatcher per database)."""
    settings = current_app.extensions["pantau.settings"]
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    application = build_application(settings)
    dispatcher = PushDispatcher(application, push_database(settings), settings)
    click.echo("Push dispatcher running; Ctrl-C stops.")
    try:
        dispatcher.run_forever(stop=stop.is_set)
    finally:
        dispatcher.db.close()
        application.close()


@push.command("status")
@with_appcontext
def outbox_status() -> None:
    """Count outbox rows by status (pending, sent, gone, failed, unknown, skipped)."""
    db = push_database(current_app.extensions["pantau.settings"])
    try:
        create(db)
        with db.transaction() as cur:
            counts = Counter(row["status"] for row in deliveries(cur))
    finally:
        db.close()
    for status, count in sorted(counts.items()):
        click.echo(f"{status:8} {count}")
