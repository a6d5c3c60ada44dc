"""Committee status: per PPS, rolled up per PPK and for the city; live or as of a past moment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields, validate

from projections.db import Database
from projections.read import Page
from projections.read import status as queries
from projections.timetravel import as_of as travel
from projections.worker import status_views
from server.api.http import doc
from server.api.readside import (
    CSV_PAGE,
    AsOf,
    CommitteeFilter,
    ReadQuerySchema,
    alert_rules,
    csv_stream,
    keyset_pages,
    now,
    parse,
    wait_for_position,
    wants_csv,
)
from server.auth import current_actor, requires
from server.domain.committee import parent_code
from server.domain.complaint import CATEGORIES
from server.domain.errors import PermissionDeniedError
from server.domain.roles import CITYWIDE_ROLES, Actor
from server.readmodels import readmodels
from server.schemas import CommitteeSchema
from server.services import pantau, status_cache

bp = Blueprint("status", __name__, url_prefix="/api/v1")

VIEWS = queries.VIEWS
CSV_COLUMNS = {
    "pps": ("code", "name", "kind", "parent", "readiness", "ready_items", "total_items", "visits", "last_visit_at",
            "days_since_visit"),
    "ppk": ("code", "name", "kind", "pps_count", "visited_pps", "readiness", "last_visit_at", "alerting_committees"),
}
CSV_COLUMNS["city"] = CSV_COLUMNS["ppk"]
CSV_TAIL = (*(f"complaints_{c}" for c in CATEGORIES), "open_complaints_total", "pending_corrections",
            "overdue_corrections", "alerts")


class StatusQuerySchema(ReadQuerySchema):
    level = fields.String(load_default="pps", validate=validate.OneOf(("pps", "ppk", "city")))
    committee = CommitteeFilter(metadata={"description": "A PPS, or a PPK and its PPS"})
    after = fields.String(validate=validate.Length(max=32), metadata={"description": "Cursor: `next` of the last page"})
    as_of = AsOf(metadata={"description": "Log position or ISO 8601 time: the status as it stood then"})


class StatusListSchema(Schema):
    items = fields.List(fields.Dict(), required=True)
    next = fields.String(allow_none=True, metadata={"description": "Pass as `after` for the next page"})
    as_of = fields.Dict(metadata={"description": "Present when answering as of a past moment"})


def scope_of(actor: Actor) -> str | None:
    """None for city-wide roles, else the committee code the actor is scoped to."""
    # An unscoped officer (which check_grant prevents) would see nothing rather than everything.
    return None if actor.role in CITYWIDE_ROLES else (actor.scope or "")


def check_visible(actor: Actor, committee: str | None) -> None:
    if committee is not None:
        actor.check_committee(committee, parent_code(committee))


@contextmanager
def status_store(query: dict[str, Any], committee: str | None) -> Iterator[tuple[Database, datetime, dict | None]]:
    """The live read models (after any min_position wait), or a replay as of a past moment."""
    db = readmodels()
    if query.get("as_of") is None:
        wait_for_position(db, VIEWS, query.get("min_position"))
        yield db, now(), None
        return
    snapshot = travel(pantau(), db, status_views(), query["as_of"], committee)
    try:
        yield snapshot.db, snapshot.at, {"position": snapshot.position, "at": snapshot.at.isoformat()}
    finally:
        snapshot.close()


def _flatten(item: dict[str, Any]) -> dict[str, Any]:
    return item | {f"complaints_{c}": item["open_complaints"].get(c, 0) for c in CATEGORIES}


@bp.get("/status")
@requires("status:read")
@doc(
    "Committee status per PPS, PPK or city (alerts first-class; CSV with Accept: text/csv)",
    query=StatusQuerySchema,
    response=StatusListSchema,
    errors=(401, 403, 422, 503),
    content="application/json,text/csv",
)
def list_status() -> Response:
    query = parse(StatusQuerySchema)
    actor = current_actor()
    scope, level, committee = scope_of(actor), query["level"], query.get("committee")
    check_visible(actor, committee)
    if level == "city" and scope is not None:
        raise PermissionDeniedError("The city-wide roll-up needs a city-wide role; ask for level=ppk or pps.")
    rules, limit = alert_rules(), query["limit"]
    page_of = queries.pps_page if level == "pps" else queries.ppk_page
    if wants_csv(query):
        return _csv(query, level, scope, committee, page_of)
    with status_store(query, committee or scope or None) as (db, moment, as_of), db.transaction() as cur:
        if level == "city":
            body: dict[str, Any] = {"items": [queries.city(cur, moment, rules)], "next": None}
        else:
            page = page_of(cur, scope, committee, query.get("after"), limit, moment, rules)
            body = {"items": page.items, "next": page.next}
    if as_of:
        body["as_of"] = as_of
    return jsonify(body)


def _csv(query: dict[str, Any], level: str, scope: str | None, committee: str | None, page_of: Any) -> Response:
    rules = alert_rules()
    columns = (*CSV_COLUMNS[level], *CSV_TAIL)
    context = status_store(query, committee or scope or None)
    db, moment, _ = context.__enter__()

    def fetch(after: str | None) -> Any:
        with db.transaction() as cur:
            if level == "city":
                return Page([queries.city(cur, moment, rules)], None)
            return page_of(cur, scope, committee, after, CSV_PAGE, moment, rules)

    def pages() -> Iterator[list[dict[str, Any]]]:
        for items in keyset_pages(fetch, query.get("after")):
            yield [_flatten(item) for item in items]

    response = csv_stream(columns, pages(), f"status-{level}.csv")
    response.call_on_close(lambda: context.__exit__(None, None, None))
    return response


class CommitteeQuerySchema(Schema):
    min_position = fields.Integer(validate=validate.Range(0, 2**62), metadata={"description": "Read your writes"})
    as_of = AsOf(metadata={"description": "Log position or ISO 8601 time: the status as it stood then"})


class CommitteeDetailSchema(CommitteeSchema):
    status = fields.Dict(allow_none=True, metadata={"description": "Status (a PPK: roll-up with members)"})
    as_of = fields.Dict(metadata={"description": "Present when answering as of a past moment"})


def committee_status_body(code: str, kind: str) -> dict[str, Any]:
    """`status` (and `as_of`) for GET /committees/{code}: live, or replayed for this committee only."""
    query = parse(CommitteeQuerySchema)
    if query.get("as_of") is None and query.get("min_position") is None:
        moment, rules = now(), alert_rules()

        def load() -> list[dict[str, Any]]:
            with readmodels().statement() as cur:
                return queries.committee_facts(cur, code, kind, moment, rules)

        facts = status_cache().facts(code, kind, moment, load)
        return {"status": queries.committee_answer(facts, code, kind, moment, rules)}
    with status_store(query, code) as (db, moment, as_of), db.statement() as cur:
        status = queries.committee_status(cur, code, kind, moment, alert_rules())
    return {"status": status, **({"as_of": as_of} if as_of else {})}
