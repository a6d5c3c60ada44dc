"""Committee directory: every PPK and PPS with its parent, for scoped lists and pickers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.batch import Table
from projections.db import Cursor
from projections.views import Item, View
from server.domain.committee import Committee

COMMITTEES = Table("rm_committees", {
    "code": "TEXT PRIMARY KEY", "kind": "TEXT NOT NULL", "name": "TEXT NOT NULL", "parent": "TEXT",
    "registered_position": "BIGINT NOT NULL",
})


class CommitteeDirectory(View):
    name = "committees"
    tables = ("rm_committees",)
    events = frozenset({Committee.Registered})
    indexes = ("rm_committees_parent ON rm_committees (parent)",)

    def create_tables(self, cur: Cursor) -> None:
        COMMITTEES.create(cur)

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        rows: dict[str, tuple[Any, ...]] = {}
        for position, event in items:
            if type(event) is Committee.Registered:
                # The first registration of a code wins, in the batch as against the table.
                rows.setdefault(event.code, (event.code, event.kind, event.name, event.parent, position))
        COMMITTEES.insert(cur, list(rows.values()), keep_existing=True)


def list_committees(cur: Cursor, scope: str | None, citywide: bool) -> list[dict[str, Any]]:
    """Committees the caller may see: all of them city-wide, else its own and those directly under it."""
    if citywide:
        cur.execute("SELECT code, kind, name, parent FROM rm_committees ORDER BY code")
    else:
        cur.execute(
            "SELECT code, kind, name, parent FROM rm_committees WHERE code = ? OR parent = ? ORDER BY code",
            (scope, scope),
        )
    return [{"code": r[0], "kind": r[1], "name": r[2], "parent": r[3]} for r in cur.fetchall()]
