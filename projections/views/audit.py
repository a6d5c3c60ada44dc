"""Audit trail: one row per event, in log order, with who, when (server and device), what, and where."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from projections.db import Cursor
from projections.views import Item, View, aggregate_type, event_type, iso
from projections.views.summaries import summary
from server.domain.committee import Committee, kind_of, parent_code
from server.domain.errors import InvalidInputError

COLUMNS = (
    "position", "recorded_at", "device_time", "actor", "role", "aggregate_type", "aggregate_id", "version",
    "event_type", "committee", "committee_parent", "summary",
)


@lru_cache(maxsize=100_000)  # area codes are few and repeat in every batch
def _parent(code: str | None) -> str | None:
    if not code:
        return None
    try:
        return parent_code(code)
    except InvalidInputError:
        return None


@lru_cache(maxsize=100_000)
def _is_area_code(code: str) -> bool:
    try:
        kind_of(code)
    except InvalidInputError:
        return False
    return True


class AuditTrail(View):
    name = "audit"
    tables = ("rm_audit", "rm_audit_records")

    def create(self, cur: Cursor) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_audit ("
            "position BIGINT PRIMARY KEY, recorded_at TEXT NOT NULL, device_time TEXT, actor TEXT, role TEXT, "
            "aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, version INTEGER NOT NULL, "
            "event_type TEXT NOT NULL, committee TEXT, committee_parent TEXT, summary TEXT NOT NULL)"
        )
        for column in ("committee", "committee_parent", "actor", "aggregate_id", "event_type", "recorded_at"):
            cur.execute(f"CREATE INDEX IF NOT EXISTS rm_audit_{column} ON rm_audit ({column}, position)")
        # Which committee each record belongs to: its later events do not repeat it.
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_audit_records (aggregate_id TEXT PRIMARY KEY, committee TEXT NOT NULL)"
        )

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        self.apply_batch(cur, [(position, event)])

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        """Bulk inserts: one statement per table per batch, the committee lookups cached for the batch."""
        known: dict[str, str | None] = {}
        new_records: list[tuple[str, str]] = []
        rows: list[tuple[Any, ...]] = []
        for position, event in items:
            aggregate_id = str(event.originator_id)
            own = self._own_committee(event)
            if own and (event.originator_version == 1 or isinstance(event, Committee.Registered)):
                # A record's first event names its committee; later events inherit it from here.
                known[aggregate_id] = own
                new_records.append((aggregate_id, own))
            committee = own or self._inherited(cur, aggregate_id, known)
            context = event.context or {}
            rows.append((
                position, iso(event.timestamp), context.get("device_time"), context.get("actor"), context.get("role"),
                aggregate_type(event), aggregate_id, event.originator_version, event_type(event), committee,
                _parent(committee), summary(event),
            ))
        if new_records:
            cur.executemany(
                "INSERT INTO rm_audit_records (aggregate_id, committee) VALUES (?, ?) "
                "ON CONFLICT (aggregate_id) DO NOTHING",
                new_records,
            )
        if rows:
            placeholders = ", ".join("?" * len(COLUMNS))
            cur.executemany(f"INSERT INTO rm_audit ({', '.join(COLUMNS)}) VALUES ({placeholders})", rows)  # noqa: S608

    @staticmethod
    def _own_committee(event: Any) -> str | None:
        """The committee an event names itself (a registration's code, a report's or a role grant's committee)."""
        code = event.code if isinstance(event, Committee.Registered) else getattr(event, "committee", None)
        return code if isinstance(code, str) and _is_area_code(code) else None

    @staticmethod
    def _inherited(cur: Cursor, aggregate_id: str, known: dict[str, str | None]) -> str | None:
        if aggregate_id not in known:
            cur.execute("SELECT committee FROM rm_audit_records WHERE aggregate_id = ?", (aggregate_id,))
            row = cur.fetchone()
            known[aggregate_id] = row[0] if row else None
        return known[aggregate_id]
