"""Each read model's position in the log, stored in the same transaction as its rows."""

from __future__ import annotations

from projections.db import Cursor

CREATE = "CREATE TABLE IF NOT EXISTS rm_tracking (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"


def position(cur: Cursor, view: str) -> int:
    """Last log position applied to a view; 0 before the first."""
    cur.execute("SELECT position FROM rm_tracking WHERE view = ?", (view,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def advance(cur: Cursor, view: str, new_position: int) -> None:
    """Move a view's position forward; called inside the transaction that wrote its rows."""
    cur.execute(
        "INSERT INTO rm_tracking (view, position) VALUES (?, ?) "
        "ON CONFLICT (view) DO UPDATE SET position = excluded.position",
        (view, new_position),
    )
