"""The audit trail (who did what, when, to which record) and the raw event feed for integrators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields, validate

from projections.read import Page
from projections.read.lists import audit_page
from projections.views.audit import COLUMNS as AUDIT_COLUMNS
from server.api.http import doc
from server.api.readside import (
    CSV_PAGE,
    CommitteeFilter,
    ReadQuerySchema,
    csv_stream,
    keyset_pages,
    parse,
    wait_for_position,
    wants_csv,
)
from server.auth import current_actor, requires
from server.domain.correction import mask_nik
from server.readmodels import readmodels
from server.services import pantau

bp = Blueprint("audit", __name__, url_prefix="/api/v1")

# Never handed out, not even to auditors: password and token hashes could be attacked offline.
REDACTED_FIELDS = frozenset({"password_hash", "token_hash"})
POSITION = validate.Range(0, 2**62)


class AuditQuerySchema(ReadQuerySchema):
    committee = CommitteeFilter(metadata={"description": "A PPS, or a PPK and its PPS"})
    actor = fields.String(validate=validate.Length(1, 64))
    aggregate = fields.UUID(metadata={"description": "One record's (aggregate's) id"})
    aggregate_type = fields.String(validate=validate.Length(1, 64), metadata={"description": "e.g. Complaint"})
    event_type = fields.String(validate=validate.Length(1, 128), metadata={"description": "e.g. Complaint.Escalated"})
    from_ = fields.AwareDateTime(data_key="from", metadata={"description": "Server time at or after (ISO 8601)"})
    to = fields.AwareDateTime(metadata={"description": "Server time before (ISO 8601)"})
    after = fields.Integer(validate=POSITION, metadata={"description": "Cursor: log position (`next`)"})


class AuditListSchema(Schema):
    items = fields.List(fields.Dict(), required=True)
    next = fields.Integer(allow_none=True, metadata={"description": "Pass as `after` for the next page"})


class EventQuerySchema(Schema):
    after = fields.Integer(load_default=0, validate=POSITION, metadata={"description": "Log position to follow"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class EventFeedSchema(Schema):
    items = fields.List(fields.Dict(), required=True)
    next = fields.Integer(required=True, metadata={"description": "Pass as `after` to continue; same if none new"})
    last_position = fields.Integer(required=True)


@bp.get("/audit")
@requires("audit:read")
@doc(
    "Audit trail: one row per event, filterable, cursor-paginated by log position (CSV with Accept: text/csv)",
    query=AuditQuerySchema,
    response=AuditListSchema,
    errors=(401, 403, 422, 503),
    content="application/json,text/csv",
)
def audit_trail() -> Response:
    query = parse(AuditQuerySchema)
    if "from_" in query:
        query["from"] = query.pop("from_")
    if query.get("aggregate") is not None:
        query["aggregate"] = str(query["aggregate"])
    db = readmodels()
    wait_for_position(db, ("audit",), query.get("min_position"))

    def page(after: int | None, limit: int) -> Page:
        with db.transaction() as cur:
            return audit_page(cur, {**query, "after": after, "limit": limit})

    if wants_csv(query):
        pages: Iterator[list[dict[str, Any]]] = keyset_pages(lambda after: page(after, CSV_PAGE), query.get("after"))
        return csv_stream(AUDIT_COLUMNS, pages, "audit.csv")
    first = page(query.get("after"), query["limit"])
    return jsonify(items=first.items, next=first.next)


def plain(value: Any, key: str | None = None, mask: bool = True) -> Any:
    """JSON-ready event data: NIKs masked unless the reader may see them whole, secrets redacted."""
    if key in REDACTED_FIELDS:
        return "[redacted]"
    if key == "nik" and mask and isinstance(value, str) and len(value) >= 4:
        return mask_nik(value)
    if isinstance(value, dict):
        return {k: plain(v, k, mask) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, None, mask) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


@bp.get("/events")
@requires("events:read")
@doc("The event log itself, in order, after a position (follow it with `next`)", query=EventQuerySchema,
     response=EventFeedSchema, errors=(401, 403, 422))
def event_feed() -> Response:
    query = parse(EventQuerySchema)
    mask = not current_actor().sees_full_nik
    application = pantau()
    notifications = application.recorder.select_notifications(
        start=query["after"], limit=query["limit"], inclusive_of_start=False
    )
    items = []
    for notification in notifications:
        event = application.mapper.to_domain_event(notification)
        data = {k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version")}
        items.append({
            "position": notification.id,
            "originator_id": str(notification.originator_id),
            "version": notification.originator_version,
            "topic": notification.topic,
            "data": plain(data, None, mask),
        })
    last = application.recorder.max_notification_id() or 0
    return jsonify(items=items, next=items[-1]["position"] if items else query["after"], last_position=last)
