"""Visits, complaints and corrections: idempotent submission, reading, and lifecycle steps."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema

from server.api.http import doc, json_body, load, request_context
from server.auth import current_actor, requires
from server.domain.application import ACTIONS, Receipt
from server.domain.errors import InvalidInputError
from server.schemas import (
    AmendVisitSchema,
    ComplaintSubmissionSchema,
    CorrectionSubmissionSchema,
    EscalateSchema,
    NoteTransitionSchema,
    ReasonTransitionSchema,
    ReceiptSchema,
    RecordQuerySchema,
    RecordSchema,
    ResolveFollowUpSchema,
    VisitSubmissionSchema,
)
from server.services import pantau

bp = Blueprint("reports", __name__, url_prefix="/api/v1")

SUBMIT_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
PLURAL = {"visit": "visits", "complaint": "complaints", "correction": "corrections"}
# Body schema of each lifecycle step; the step names are the aggregate's command methods.
ACTION_SCHEMAS: dict[str, dict[str, type[Schema]]] = {
    "visit": {"amend": AmendVisitSchema, "resolve_follow_up": ResolveFollowUpSchema},
    "complaint": {
        "acknowledge": NoteTransitionSchema,
        "investigate": NoteTransitionSchema,
        "escalate": EscalateSchema,
        "resolve": ReasonTransitionSchema,
        "dismiss": ReasonTransitionSchema,
        "reopen": ReasonTransitionSchema,
    },
    "correction": {
        "verify": NoteTransitionSchema,
        "approve": ReasonTransitionSchema,
        "reject": ReasonTransitionSchema,
    },
}
CONTEXT_FIELDS = ("expected_version", "device_time", "location")


def receipt_response(receipt: Receipt, status: int) -> Response:
    """The record, its position, its version as an ETag; a replay says so in a header."""
    response = jsonify(record=receipt.record, position=receipt.position)
    response.status_code = status
    response.headers["ETag"] = f'"{receipt.record["version"]}"'
    if receipt.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def submit(schema: type[Schema], command: str) -> Response:
    actor = current_actor()
    raw = json_body()
    loaded = load(schema, raw)
    context = request_context(actor, loaded, submission_id=str(loaded["id"]))
    receipt = getattr(pantau(), command)(actor, raw, context)
    return receipt_response(receipt, 201)


@bp.post("/visits")
@requires("report:create")
@doc("Record a monitoring visit", body=VisitSubmissionSchema, response=ReceiptSchema, status=201, errors=SUBMIT_ERRORS)
def create_visit() -> Response:
    return submit(VisitSubmissionSchema, "record_visit")


@bp.post("/complaints")
@requires("report:create")
@doc("File a complaint", body=ComplaintSubmissionSchema, response=ReceiptSchema, status=201, errors=SUBMIT_ERRORS)
def create_complaint() -> Response:
    return submit(ComplaintSubmissionSchema, "file_complaint")


@bp.post("/corrections")
@requires("report:create")
@doc(
    "Request a voter registration correction",
    body=CorrectionSubmissionSchema,
    response=ReceiptSchema,
    status=201,
    errors=SUBMIT_ERRORS,
)
def create_correction() -> Response:
    return submit(CorrectionSubmissionSchema, "request_correction")


def get_record(kind: str, record_id: UUID) -> Response:
    query = load(RecordQuerySchema, request.args.to_dict())
    record = pantau().get_record(current_actor(), kind, record_id, query.get("version"))
    response = jsonify(record)
    response.headers["ETag"] = f'"{record["version"]}"'
    return response


def expected_version(loaded: dict[str, Any]) -> int:
    """From the body's expected_version or an If-Match header; one of them is required."""
    if loaded.get("expected_version") is not None:
        return loaded["expected_version"]
    if_match = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    # ASCII digits only: str.isdigit() also takes "²", which int() then refuses with a 500.
    if if_match.isascii() and if_match.isdigit() and len(if_match) <= 10:
        return int(if_match)
    raise InvalidInputError(
        "Name the version you expect: expected_version in the body or If-Match.", "expected_version"
    )


def transition(kind: str, record_id: UUID, action: str) -> Response:
    actor = current_actor()
    loaded = load(ACTION_SCHEMAS[kind][action], json_body())
    params = {key: value for key, value in loaded.items() if key not in CONTEXT_FIELDS}
    context = request_context(actor, loaded)
    receipt = pantau().act(actor, kind, record_id, action, expected_version(loaded), params, context)
    return receipt_response(receipt, 200)


def register_record_routes() -> None:
    """GET and one POST per lifecycle step, for each kind of record, each with its declared permission."""
    for kind, actions in ACTION_SCHEMAS.items():
        plural = PLURAL[kind]

        def read(record_id: UUID, kind: str = kind) -> Response:
            return get_record(kind, record_id)

        read.__name__ = f"get_{kind}"
        view = doc(
            f"Read a {kind} (optionally at a past version)",
            response=RecordSchema,
            query=RecordQuerySchema,
            errors=(401, 403, 404, 422),
        )(read)
        bp.add_url_rule(f"/{plural}/<uuid:record_id>", view_func=requires("record:read")(view), methods=["GET"])

        for action, schema in actions.items():

            def step(record_id: UUID, kind: str = kind, action: str = action) -> Response:
                return transition(kind, record_id, action)

            step.__name__ = f"{action}_{kind}"
            view = doc(
                f"{action.replace('_', ' ').capitalize()} a {kind}",
                body=schema,
                response=ReceiptSchema,
                errors=ACTION_ERRORS,
            )(step)
            bp.add_url_rule(
                f"/{plural}/<uuid:record_id>/{action.replace('_', '-')}",
                view_func=requires(ACTIONS[kind][action])(view),
                methods=["POST"],
            )


register_record_routes()
