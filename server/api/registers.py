"""Complaint queue and correction register (NIK masked except for the roles entitled to it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields, validate

from projections.read import Page
from projections.read.lists import complaint_page, correction_page
from server.api.http import doc
from server.api.readside import (
    CSV_PAGE,
    CommitteeFilter,
    ReadQuerySchema,
    csv_stream,
    keyset_pages,
    now,
    parse,
    wait_for_position,
    wants_csv,
)
from server.api.status import check_visible, scope_of
from server.auth import current_actor, requires
from server.domain.complaint import CATEGORIES, OPEN_STATUSES
from server.domain.correction import KINDS
from server.readmodels import readmodels
from server.services import pantau

bp = Blueprint("registers", __name__, url_prefix="/api/v1")

COMPLAINT_STATUSES = ("open", *OPEN_STATUSES, "resolved", "dismissed")
CORRECTION_STATUSES = ("pending", "requested", "verified", "approved", "rejected")
COMPLAINT_CSV = (
    "id", "position", "committee", "category", "status", "age_days", "filed_at", "filed_by", "description",
    "escalated_to", "outcome", "version", "updated_at", "updated_by",
)
CORRECTION_CSV = (
    "id", "position", "committee", "kind", "status", "nik", "full_name", "tps", "target_tps", "tms_reason",
    "age_days", "requested_at", "requested_by", "verified_by", "decided_by", "decision_reason", "version",
    "updated_at",
)


class ListQuerySchema(ReadQuerySchema):
    committee = CommitteeFilter(metadata={"description": "A PPS, or a PPK and its PPS"})
    after = fields.Integer(validate=validate.Range(0, 2**62), metadata={"description": "Cursor: last `next`"})
    min_age_days = fields.Integer(validate=validate.Range(0, 36_500), metadata={"description": "At least this old"})
    max_age_days = fields.Integer(validate=validate.Range(0, 36_500), metadata={"description": "At most this old"})


class ComplaintQuerySchema(ListQuerySchema):
    status = fields.String(validate=validate.OneOf(COMPLAINT_STATUSES), metadata={"description": "'open': not closed"})
    category = fields.String(validate=validate.OneOf(CATEGORIES))


class CorrectionQuerySchema(ListQuerySchema):
    status = fields.String(validate=validate.OneOf(CORRECTION_STATUSES), metadata={"description": "pending: undecided"})
    kind = fields.String(validate=validate.OneOf(KINDS))


class ListSchema(Schema):
    items = fields.List(fields.Dict(), required=True)
    next = fields.Integer(allow_none=True, metadata={"description": "Pass as `after` for the next page"})


def unmask(repository: Any, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Full NIKs for kpu_admin and legal, read from the event store: the read model never holds them."""
    for item in items:
        item["nik"] = repository.get(UUID(item["id"]), version=1).nik
    return items


def serve(view: str, schema: type[Schema], fetch: Callable[..., Page], columns: tuple[str, ...], name: str) -> Response:
    """A list endpoint: scope, filters, read-your-writes, then one JSON page or the whole list as CSV."""
    query = parse(schema)
    actor = current_actor()
    check_visible(actor, query.get("committee"))
    scope, moment = scope_of(actor), now()
    db = readmodels()
    wait_for_position(db, (view,), query.get("min_position"))
    # Taken now: a streamed CSV runs after the request context has gone.
    repository = pantau().repository if view == "corrections" and actor.sees_full_nik else None

    def page(after: int | None, limit: int) -> Page:
        with db.transaction() as cur:
            found = fetch(cur, scope, {**query, "after": after, "limit": limit}, moment)
        if repository is not None:
            unmask(repository, found.items)
        return found

    if wants_csv(query):
        pages: Iterator[list[dict[str, Any]]] = keyset_pages(lambda after: page(after, CSV_PAGE), query.get("after"))
        return csv_stream(columns, pages, f"{name}.csv")
    first = page(query.get("after"), query["limit"])
    return jsonify(items=first.items, next=first.next)


@bp.get("/complaints")
@requires("status:read")
@doc(
    "Complaint queue, oldest first (filters: status, category, committee, age; CSV with Accept: text/csv)",
    query=ComplaintQuerySchema,
    response=ListSchema,
    errors=(401, 403, 422, 503),
    content="application/json,text/csv",
)
def complaint_queue() -> Response:
    return serve("complaints", ComplaintQuerySchema, complaint_page, COMPLAINT_CSV, "complaints")


@bp.get("/corrections")
@requires("status:read")
@doc(
    "Correction register, oldest first, NIK masked but for kpu_admin and legal (CSV with Accept: text/csv)",
    query=CorrectionQuerySchema,
    response=ListSchema,
    errors=(401, 403, 422, 503),
    content="application/json,text/csv",
)
def correction_register() -> Response:
    return serve("corrections", CorrectionQuerySchema, correction_page, CORRECTION_CSV, "corrections")
