"""Health, the API description, and the readiness checklist the phone app renders."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from server.api.http import doc
from server.api.readside import HealthWithProjectionSchema, projection_health
from server.auth import public, requires
from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist
from server.schemas import ChecklistSchema
from server.services import pantau

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
@public
@doc("Liveness, event-store reachability and projection lag", response=HealthWithProjectionSchema, errors=(503,))
def healthz() -> Response:
    last_position = pantau().recorder.max_notification_id()
    database = "postgresql" if current_app.extensions["pantau.settings"].uses_postgres else "sqlite"
    return jsonify(
        status="ok", database=database, last_position=last_position, projection=projection_health(last_position)
    )


@bp.get("/api/v1/openapi.json")
@public
@doc("This document (OpenAPI 3.1)")
def openapi() -> Response:
    from server.openapi import build_spec

    return jsonify(build_spec(current_app))


@bp.get("/api/v1/checklist")
@requires("record:read")
@doc("The current readiness checklist", response=ChecklistSchema, errors=(401,))
def current_checklist() -> Response:
    current = checklist(CURRENT_CHECKLIST_VERSION)
    items = [{"key": i.key, "label_id": i.label_id, "label_en": i.label_en} for i in current.items]
    return jsonify(version=current.version, items=items)
