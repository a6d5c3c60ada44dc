"""Complaint queue, correction register and audit trail: filtered, keyset-paginated by log position."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from projections.db import Cursor
from projections.read import Page, in_scope, placeholders
from projections.views import iso, parse_iso
from projections.views.audit import COLUMNS as AUDIT_COLUMNS
from server.domain.complaint import OPEN_STATUSES
from server.domain.correction import PENDING_STATUSES, mask_nik

COMPLAINT_COLUMNS = (
    "id", "position", "committee", "parent", "category", "status", "description", "filed_by", "filed_at",
    "escalated_to", "outcome", "version", "updated_at", "updated_by",
)
CORRECTION_COLUMNS = (
    "id", "position", "committee", "parent", "kind", "nik_last4", "full_name", "tps", "target_tps", "tms_reason",
    "status", "requested_by", "requested_at", "verified_by", "decided_by", "decision_reason", "version", "updated_at",
)
# Status words that stand for a group of statuses.
STATUS_GROUPS = {"open": OPEN_STATUSES, "pending": PENDING_STATUSES}


@dataclass
class Filters:
    """A WHERE clause built up one condition at a time, always with bound parameters."""

    conditions: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, condition: str, *params: Any) -> None:
        self.conditions.append(condition)
        self.params.extend(params)

    def equal(self, column: str, value: Any) -> None:
        if value is not None:
            self.add(f"{column} = ?", value)

    def status(self, value: str | None) -> None:
        if value is None:
            return
        group = STATUS_GROUPS.get(value, (value,))
        self.add(f"status IN ({placeholders(group)})", *group)

    def committee(self, code: str | None, parent_column: str = "parent") -> None:
        """A PPS code matches itself; a PPK code matches itself and every PPS under it."""
        if code is not None:
            self.add(f"(committee = ? OR {parent_column} = ?)", code, code)

    def age(self, column: str, now: datetime, min_days: int | None, max_days: int | None) -> None:
        if min_days is not None:
            self.add(f"{column} <= ?", iso(now - timedelta(days=min_days)))
        if max_days is not None:
            self.add(f"{column} >= ?", iso(now - timedelta(days=max_days)))

    def where(self) -> str:
        return " AND ".join(self.conditions) or "1 = 1"


def keyset(cur: Cursor, table: str, columns: tuple[str, ...], filters: Filters, after: int, limit: int) -> Page:
    """Rows after a position, in position order; `next` is set only when the page is full."""
    sql = (
        f"SELECT {', '.join(columns)} FROM {table} WHERE {filters.where()} AND position > ? "  # noqa: S608 - fixed names
        f"ORDER BY position LIMIT {int(limit)}"
    )
    cur.execute(sql, [*filters.params, after])
    items = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    return Page(items, items[-1]["position"] if len(items) == limit else None)


def _age_days(then: str, now: datetime) -> int:
    return max(0, int((now - parse_iso(then)).total_seconds() // 86400))


def complaint_page(cur: Cursor, scope: str | None, query: dict[str, Any], now: datetime) -> Page:
    """The complaint queue, oldest first."""
    filters = Filters()
    where, params = in_scope(scope)
    filters.add(where, *params)
    filters.status(query.get("status"))
    filters.equal("category", query.get("category"))
    filters.committee(query.get("committee"))
    filters.age("filed_at", now, query.get("min_age_days"), query.get("max_age_days"))
    page = keyset(cur, "rm_complaints", COMPLAINT_COLUMNS, filters, query.get("after") or 0, query["limit"])
    for item in page.items:
        item["age_days"] = _age_days(item["filed_at"], now)
    return page


def correction_page(cur: Cursor, scope: str | None, query: dict[str, Any], now: datetime) -> Page:
    """The correction register, oldest first, NIK masked (callers may unmask for entitled roles)."""
    filters = Filters()
    where, params = in_scope(scope)
    filters.add(where, *params)
    filters.status(query.get("status"))
    filters.equal("kind", query.get("kind"))
    filters.committee(query.get("committee"))
    filters.age("requested_at", now, query.get("min_age_days"), query.get("max_age_days"))
    page = keyset(cur, "rm_corrections", CORRECTION_COLUMNS, filters, query.get("after") or 0, query["limit"])
    for item in page.items:
        item["nik"] = mask_nik(item.pop("nik_last4"))  # the register stores only the last 4 digits
        item["age_days"] = _age_days(item["requested_at"], now)
    return page


def audit_page(cur: Cursor, query: dict[str, Any]) -> Page:
    """The audit trail in log order."""
    filters = Filters()
    filters.committee(query.get("committee"), "committee_parent")
    filters.equal("actor", query.get("actor"))
    filters.equal("aggregate_id", query.get("aggregate"))
    filters.equal("aggregate_type", query.get("aggregate_type"))
    filters.equal("event_type", query.get("event_type"))
    if query.get("from") is not None:
        filters.add("recorded_at >= ?", iso(query["from"]))
    if query.get("to") is not None:
        filters.add("recorded_at < ?", iso(query["to"]))
    if query.get("until_position") is not None:
        filters.add("position <= ?", query["until_position"])
    return keyset(cur, "rm_audit", AUDIT_COLUMNS, filters, query.get("after") or 0, query["limit"])
