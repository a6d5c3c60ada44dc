"""The baseline: Flask + eventsourcing saving one event per request, with no validation, auth or idempotency.

Served exactly like Pantau (gunicorn -c python:server.gunicorn_conf), on the same database, through the
library's stock recorder: a ratio against it measures what Pantau adds (auth, validation, idempotency,
domain rules) and what Pantau's own write path gains (see `stock_env`).
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from flask import Flask, Response, jsonify, request

from server.config import load_settings


class Report(Aggregate):
    """Whatever was posted, as one event."""

    @event("Posted")
    def __init__(self, id: UUID, body: dict[str, Any]) -> None:
        self.body = body

    @staticmethod
    def create_id(id: UUID, **_: Any) -> UUID:
        return id


class BareApplication(Application):
    name = "Bare"


COMMITTEE = {"code": "19.71.01.1004", "kind": "PPS", "name": "PPS Semabung Lama", "parent": "19.71.01"}


def stock_env(env: dict[str, str]) -> dict[str, str]:
    """The same store, through the library's own recorder: Pantau's (writer queue, group commit) is part
    of what is measured, not of the baseline. PANTAU_BARE_RECORDER=pantau gives the baseline ours too,
    and then the ratio shows what Pantau's per-request work costs next to the very same save."""
    if os.environ.get("PANTAU_BARE_RECORDER") == "pantau":
        return env
    return {key: value for key, value in env.items() if key != "APPLICATION_RECORDER_TOPIC"}


def create_app() -> Flask:
    """The baseline web app; its eventsourcing application is built after the fork, like Pantau's."""
    settings = load_settings()
    app = Flask(__name__)
    lock = threading.Lock()
    holder: dict[str, BareApplication] = {}

    def application() -> BareApplication:
        if "app" not in holder:
            with lock:
                if "app" not in holder:
                    holder["app"] = BareApplication(env=stock_env(settings.eventstore_env()))
        return holder["app"]

    def save() -> Response:
        body = json.loads(request.get_data())
        recordings = application().save(Report(id=UUID(body["id"]), body=body))
        response = jsonify(id=body["id"], position=recordings[0].notification.id)
        response.status_code = 201
        return response

    for kind in ("visits", "complaints", "corrections"):
        app.add_url_rule(f"/api/v1/{kind}", f"save_{kind}", save, methods=["POST"])

    @app.get("/api/v1/committees/<code>")
    def committee(code: str) -> Response:
        return jsonify({**COMMITTEE, "code": code})

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", last_position=application().recorder.max_notification_id())

    return app
