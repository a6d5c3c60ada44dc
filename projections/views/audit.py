"""Audit trail: one row per event, in log order, with who, when (server and device), what, and where."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from projections.batch import Table, select_in
from projections.db import Cursor
from projections.views import Item, View, iso, parent_of, record_id, type_names
from projections.views.summaries import summary
from server.domain.committee import Committee, kind_of
from server.domain.errors import InvalidInputError

AUDIT = Table("rm_audit", {
    "position": "BIGINT PRIMARY KEY", "recorded_at": "TEXT NOT NULL", "device_time": "TEXT", "actor": "TEXT",
    "role": "TEXT", "aggregate_type": "TEXT NOT NULL", "aggregate_id": "TEXT NOT NULL", "version": "INTEGER NOT NULL",
    "event_type": "TEXT NOT NULL", "committee": "TEXT", "committee_parent": "TEXT", "summary": "TEXT NOT NULL",
})
COLUMNS = AUDIT.columns
COMMITTEE, PARENT = COLUMNS.index("committee"), COLUMNS.index("committee_parent")


@lru_cache(maxsize=100_000)
def _is_area_code(code: str) -> bool:
    try:
        kind_of(code)
    except InvalidInputError:
        return False
    return True


class AuditTrail(View):
    name = "audit"
    tables = ("rm_audit",)
    # One index per filter of GET /audit (lists.audit_page), each ending in position for the keyset order.
    indexes = tuple(
        f"rm_audit_{column} ON rm_audit ({column}, position)"
        for column in ("committee", "committee_parent", "actor", "event_type", "recorded_at")
    )

    def __init__(self) -> None:
        # Record -> the committee its first event named, for records begun since the last `forget`.
        self._first: dict[str, str | None] = {}

    def forget(self) -> None:
        self._first.clear()

    def create_tables(self, cur: Cursor) -> None:
        AUDIT.create(cur)
        # Also the aggregate filter's index, but built with the table: the view itself looks records up by it.
        cur.execute("CREATE INDEX IF NOT EXISTS rm_audit_aggregate_id ON rm_audit (aggregate_id, position)")

    def drop(self, cur: Cursor) -> None:
        super().drop(cur)
        # Retired: the record -> committee map earlier versions kept beside the trail; a rebuild clears it.
        cur.execute("DROP TABLE IF EXISTS rm_audit_records")

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        """One insert per batch; the committees of records begun in earlier batches (and not remembered)
        read in one query."""
        # A record's first event names its committee; its later events inherit it.
        first = self._first
        rows: list[list[Any]] = []
        inheriting: list[tuple[int, str]] = []  # (row, record) whose committee an earlier batch's row holds
        for position, event in items:
            record = record_id(event.originator_id)
            version = event.originator_version
            committee = self._own_committee(event)
            if version == 1:
                first[record] = committee
            elif not committee:
                if record in first:
                    committee = first[record]
                else:
                    inheriting.append((len(rows), record))
            context = event.context or {}
            aggregate, kind = type_names(type(event))
            rows.append([
                position, iso(event.timestamp), context.get("device_time"), context.get("actor"), context.get("role"),
                aggregate, record, version, kind, committee, parent_of(committee), summary(event),
            ])
        if inheriting:
            found = _first_committees(cur, [record for _, record in inheriting])
            for index, record in inheriting:
                committee = first.setdefault(record, found.get(record))
                rows[index][COMMITTEE:PARENT + 1] = [committee, parent_of(committee)]
        # Positions are new by construction (the tracking row lock admits each batch once): a plain append.
        cur.append_many(AUDIT.name, AUDIT.columns, rows)

    @staticmethod
    def _own_committee(event: Any) -> str | None:
        """The committee an event names itself (a registration's code, a report's or a role grant's committee)."""
        code = event.code if isinstance(event, Committee.Registered) else getattr(event, "committee", None)
        return code if isinstance(code, str) and _is_area_code(code) else None


def _first_committees(cur: Cursor, aggregate_ids: list[str]) -> dict[str, str | None]:
    """The committee each record's first audit row carries (the trail itself remembers it)."""
    select = "SELECT aggregate_id, committee FROM rm_audit WHERE version = 1 AND aggregate_id IN"
    return dict(select_in(cur, select, aggregate_ids))
