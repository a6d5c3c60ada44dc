"""What every read-model endpoint shares: query parsing, read-your-writes, CSV streaming, time travel."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from types import NoneType
from typing import Any

from flask import Response, abort, current_app, request
from marshmallow import Schema, ValidationError, fields, validate

from projections.db import Database
from projections.read import AlertRules, Page
from server.api.http import load, schema_instance
from server.problems import problem
from server.readmodels import readmodels
from server.schemas import AREA_CODE, HealthSchema
from server.services import pantau

READ_WAIT_SECONDS = 2.0
POLL_SECONDS = 0.005
CSV_PAGE = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AsOf(fields.Field):
    """A log position (digits) or an ISO 8601 time with its offset."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | datetime:
        text = str(value).strip()
        # An unencoded "+07:00" arrives as " 07:00": take it as meant.
        text = re.sub(r" (\d\d:?\d\d)$", r"+\1", text)
        if text.isdigit():
            return int(text)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Give a log position or an ISO 8601 time with offset.") from None
        if moment.tzinfo is None:
            raise ValidationError("The time needs an offset, e.g. 2024-11-26T23:00+07:00.")
        return moment


class ReadQuerySchema(Schema):
    """Parameters every read-model list accepts."""

    min_position = fields.Integer(
        validate=validate.Range(0, 2**62),
        metadata={"description": "Wait (up to 2 s) until the read model has applied this log position"},
    )
    format = fields.String(validate=validate.OneOf(("json", "csv")), metadata={"description": "Or Accept: text/csv"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class CommitteeFilter(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=AREA_CODE, **kwargs)


def parse(schema: type[Schema]) -> dict[str, Any]:
    """Query parameters through a schema; unknown or bad ones are a 422 problem, never a 500."""
    if not request.args:
        return dict(defaults(schema))
    return load(schema, request.args.to_dict())


@functools.cache
def defaults(schema: type[Schema]) -> dict[str, Any]:
    """What a schema loads from no query parameters at all, computed once per process.

    Most reads (a committee's status, the first page of a list) come without any: loading an empty
    dict through marshmallow was 7.5% of a committee read's CPU under load. Query defaults are constants,
    which is what makes the answer worth remembering; a schema with a default that could change (a
    callable, a list) is refused here rather than served a stale or shared value.
    """
    loaded = load(schema, {})
    mutable = [name for name, value in loaded.items() if not isinstance(value, str | int | float | bool | NoneType)]
    if mutable or any(callable(field.load_default) for field in schema_instance(schema).fields.values()):
        raise TypeError(f"{schema.__name__}: query defaults must be constants, not {mutable or 'callables'}")
    return loaded


def alert_rules() -> AlertRules:
    settings = current_app.extensions["pantau.settings"]
    return AlertRules(settings.alert_no_visit_days, settings.alert_correction_wait_days)


def now() -> datetime:
    return datetime.now(UTC)


def wait_for_position(db: Database, views: Sequence[str], min_position: int | None) -> None:
    """Read your writes: poll the views' positions every few ms, up to 2 s; then 503 with Retry-After."""
    if not min_position:
        return
    log_end = pantau().recorder.max_notification_id() or 0
    if min_position > log_end:
        # No write ever answered this position: waiting cannot help, the caller has it wrong.
        abort(problem(422, "Unprocessable Content", f"The log ends at position {log_end}, before {min_position}.",
                      errors={"min_position": [f"Beyond the end of the log ({log_end})."]}))
    deadline = time.monotonic() + READ_WAIT_SECONDS
    while True:
        with db.transaction() as cur:
            marks = ", ".join("?" * len(views))
            cur.execute(f"SELECT view, position FROM rm_tracking WHERE view IN ({marks})", list(views))  # noqa: S608
            found = {row[0]: int(row[1]) for row in cur.fetchall()}
        lowest = min(found.get(view, 0) for view in views)
        if lowest >= min_position:
            return
        if time.monotonic() >= deadline:
            response = problem(
                503,
                "Read Model Behind",
                f"The read model has applied the log up to position {lowest}, not yet {min_position}; retry shortly.",
                position=lowest,
                min_position=min_position,
            )
            response.headers["Retry-After"] = "1"
            abort(response)
        time.sleep(POLL_SECONDS)


def wants_csv(query: dict[str, Any]) -> bool:
    """?format=csv, or an Accept header that prefers text/csv to JSON."""
    if query.get("format"):
        return query["format"] == "csv"
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"], default="application/json")
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it.
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    if isinstance(value, dict):
        return "; ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(str(v.get("message", v)) if isinstance(v, dict) else str(v) for v in value)
    return value


def csv_stream(columns: Sequence[str], pages: Iterable[Iterable[dict[str, Any]]], filename: str) -> Response:
    """A streamed CSV: a BOM (spreadsheets then read UTF-8 Indonesian text right), a header, then rows
    produced page by page; only one page is ever in memory."""

    def generate() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        yield codecs.BOM_UTF8 + buffer.getvalue().encode()
        for page in pages:
            buffer.seek(0)
            buffer.truncate()
            for item in page:
                writer.writerow([_cell(item.get(column)) for column in columns])
            yield buffer.getvalue().encode()

    response = Response(generate(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def keyset_pages(fetch: Callable[[Any], Page], first_after: Any) -> Iterator[list[dict[str, Any]]]:
    """Every page from `first_after` to the end, each fetched in its own short transaction."""
    after = first_after
    while True:
        page = fetch(after)
        yield page.items
        if page.next is None:
            return
        after = page.next


def page_response(page: Page, **extra: Any) -> dict[str, Any]:
    """JSON list shape shared by every list endpoint."""
    return {"items": page.items, "next": page.next, **extra}


class ProjectionHealthSchema(Schema):
    positions = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "Per view"})
    behind = fields.Integer(allow_none=True, metadata={"description": "Last log position minus the slowest view's"})
    lag_ms = fields.Integer(allow_none=True, metadata={"description": "Saved to visible, for the newest applied event"})
    last_applied_at = fields.String(allow_none=True)


def projection_health(last_position: int | None) -> dict[str, Any]:
    """What /healthz says about the read models: each view's position, how far behind, the worker's lag."""
    db = readmodels()
    with db.transaction() as cur:
        cur.execute("SELECT view, position FROM rm_tracking ORDER BY view")
        positions = {row[0]: int(row[1]) for row in cur.fetchall()}
        cur.execute("SELECT last_lag_ms, updated_at FROM rm_worker_status WHERE id = 1")
        row = cur.fetchone()
    lowest = min(positions.values(), default=0)
    return {
        "positions": positions,
        "behind": max(0, (last_position or 0) - lowest),
        "lag_ms": int(row[0]) if row else None,
        "last_applied_at": row[1] if row else None,
    }


class HealthWithProjectionSchema(HealthSchema):
    projection = fields.Nested(ProjectionHealthSchema)
