"""Disputes: legal staff open them over records, add notes and evidence, rule, close and reopen."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema

from server.api.http import doc, json_body, load, request_context
from server.api.reports import CONTEXT_FIELDS, expected_version, receipt_response
from server.attachments.service import blob_store, describe_blob
from server.auth import current_actor, requires
from server.schemas import ReasonTransitionSchema, RecordQuerySchema
from server.schemas_evidence import (
    DisputeEvidenceSchema,
    DisputeNoteSchema,
    DisputeOpenSchema,
    DisputeReceiptSchema,
    DisputeRulingSchema,
    DisputeSchema,
)
from server.services import pantau

bp = Blueprint("disputes", __name__, url_prefix="/api/v1")

ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
# URL step -> (aggregate command, body schema); evidence has its own route because it may name a blob.
STEPS: dict[str, tuple[str, type[Schema]]] = {
    "note": ("add_note", DisputeNoteSchema),
    "ruling": ("record_ruling", DisputeRulingSchema),
    "close": ("close", ReasonTransitionSchema),
    "reopen": ("reopen", ReasonTransitionSchema),
}


@bp.post("/disputes")
@requires("dispute:write")
@doc(
    "Open a dispute over visits, complaints or corrections",
    body=DisputeOpenSchema,
    response=DisputeReceiptSchema,
    status=201,
    errors=ERRORS,
)
def open_dispute() -> Response:
    actor = current_actor()
    raw = json_body()
    loaded = load(DisputeOpenSchema, raw)
    context = request_context(actor, loaded, submission_id=str(loaded["id"]))
    return receipt_response(pantau().open_dispute(actor, raw, context), 201)


@bp.get("/disputes/<uuid:record_id>")
@requires("dispute:read")
@doc(
    "Read a dispute and its timeline (optionally at a past version)",
    response=DisputeSchema,
    query=RecordQuerySchema,
    errors=(401, 403, 404, 422),
)
def get_dispute(record_id: UUID) -> Response:
    query = load(RecordQuerySchema, request.args.to_dict())
    record = pantau().get_dispute(current_actor(), record_id, query.get("version"))
    response = jsonify(record)
    response.headers["ETag"] = f'"{record["version"]}"'
    return response


@bp.post("/disputes/<uuid:record_id>/evidence")
@requires("dispute:write")
@doc(
    "Add an uploaded attachment or a logged event to a dispute's evidence",
    body=DisputeEvidenceSchema,
    response=DisputeReceiptSchema,
    errors=ERRORS,
)
def attach_evidence(record_id: UUID) -> Response:
    actor = current_actor()
    loaded = load(DisputeEvidenceSchema, json_body())
    blob = describe_blob(blob_store(), loaded["sha256"]) if "sha256" in loaded else None
    receipt = pantau().attach_dispute_evidence(
        actor,
        record_id,
        expected_version(loaded),
        loaded["description"],
        request_context(actor, loaded),
        blob=blob,
        position=loaded.get("position"),
    )
    return receipt_response(receipt, 200)


def step(record_id: UUID, name: str) -> Response:
    actor = current_actor()
    command, schema = STEPS[name]
    loaded = load(schema, json_body())
    params: dict[str, Any] = {key: value for key, value in loaded.items() if key not in CONTEXT_FIELDS}
    context = request_context(actor, loaded)
    receipt = pantau().act(actor, "dispute", record_id, command, expected_version(loaded), params, context)
    return receipt_response(receipt, 200)


def register_steps() -> None:
    """One POST per lifecycle step, each documented and guarded like every other route."""
    for name, (command, schema) in STEPS.items():

        def view(record_id: UUID, name: str = name) -> Response:
            return step(record_id, name)

        view.__name__ = f"{command}_dispute"
        summary = f"{command.replace('_', ' ').capitalize()} (dispute)"
        documented = doc(summary, body=schema, response=DisputeReceiptSchema, errors=ERRORS)(view)
        bp.add_url_rule(
            f"/disputes/<uuid:record_id>/{name}", view_func=requires("dispute:write")(documented), methods=["POST"]
        )


register_steps()
