"""Audit trail: one row per event, in log order, with who, when (server and device), what, and where."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from projections.batch import Rows, Table
from projections.db import Cursor
from projections.views import Item, View, aggregate_type, event_type, iso
from projections.views.summaries import summary
from server.domain.committee import Committee, kind_of, parent_code
from server.domain.errors import InvalidInputError

AUDIT = Table("rm_audit", {
    "position": "BIGINT PRIMARY KEY", "recorded_at": "TEXT NOT NULL", "device_time": "TEXT", "actor": "TEXT",
    "role": "TEXT", "aggregate_type": "TEXT NOT NULL", "aggregate_id": "TEXT NOT NULL", "version": "INTEGER NOT NULL",
    "event_type": "TEXT NOT NULL", "committee": "TEXT", "committee_parent": "TEXT", "summary": "TEXT NOT NULL",
})
# Which committee each record belongs to: its later events do not repeat it.
RECORDS = Table("rm_audit_records", {"aggregate_id": "TEXT PRIMARY KEY", "committee": "TEXT NOT NULL"})
COLUMNS = AUDIT.columns


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
        AUDIT.create(cur)
        # One index per filter of GET /audit (lists.audit_page), each ending in position for the keyset order.
        for column in ("committee", "committee_parent", "actor", "aggregate_id", "event_type", "recorded_at"):
            cur.execute(f"CREATE INDEX IF NOT EXISTS rm_audit_{column} ON rm_audit ({column}, position)")
        RECORDS.create(cur)

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        """One insert per table per batch; the committees of records begun in earlier batches read in one query."""
        records = Rows(RECORDS)
        facts: list[tuple[str, str | None]] = []  # (aggregate id, committee the event names itself)
        earlier: list[str] = []
        for _, event in items:
            aggregate_id = str(event.originator_id)
            own = self._own_committee(event)
            if own and (event.originator_version == 1 or type(event) is Committee.Registered):
                # A record's first event names its committee; later events inherit it from here.
                if records.get(aggregate_id) is None:
                    records.put({"aggregate_id": aggregate_id, "committee": own})
            elif not own:
                earlier.append(aggregate_id)
            facts.append((aggregate_id, own))
        records.load(cur, earlier)
        rows: list[tuple[Any, ...]] = []
        for (position, event), (aggregate_id, own) in zip(items, facts, strict=True):
            record = records.get(aggregate_id)
            committee = own or (record["committee"] if record is not None else None)
            context = event.context or {}
            rows.append((
                position, iso(event.timestamp), context.get("device_time"), context.get("actor"), context.get("role"),
                aggregate_type(event), aggregate_id, event.originator_version, event_type(event), committee,
                _parent(committee), summary(event),
            ))
        records.flush(cur, keep_existing=True)
        # Positions are new by construction (the tracking row lock admits each batch once): a plain append.
        cur.append_many(AUDIT.name, AUDIT.columns, rows)

    @staticmethod
    def _own_committee(event: Any) -> str | None:
        """The committee an event names itself (a registration's code, a report's or a role grant's committee)."""
        code = event.code if isinstance(event, Committee.Registered) else getattr(event, "committee", None)
        return code if isinstance(code, str) and _is_area_code(code) else None
