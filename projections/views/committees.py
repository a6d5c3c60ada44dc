"""Committee directory: every PPK and PPS with its parent, for scoped lists and pickers."""

from __future__ import annotations

from typing import Any

from projections.db import Cursor
from projections.views import View
from server.domain.committee import Committee


class CommitteeDirectory(View):
    name = "committees"
    tables = ("rm_committees",)

    def create(self, cur: Cursor) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_committees ("
            "code TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, parent TEXT, "
            "registered_position BIGINT NOT NULL)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS rm_committees_parent ON rm_committees (parent)")

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        if isinstance(event, Committee.Registered):
            cur.execute(
                "INSERT INTO rm_committees (code, kind, name, parent, registered_position) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (code) DO NOTHING",
                (event.code, event.kind, event.name, event.parent, position),
            )


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
