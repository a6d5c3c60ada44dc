"""Each read model's position in the log, stored in the same transaction as its rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from projections.db import Cursor

CREATE = "CREATE TABLE IF NOT EXISTS rm_tracking (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"


def position(cur: Cursor, view: str) -> int:
    """Last log position applied to a view; 0 before the first."""
    cur.execute("SELECT position FROM rm_tracking WHERE view = ?", (view,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def positions(cur: Cursor) -> dict[str, int]:
    """Every view's position, in one query."""
    cur.execute("SELECT view, position FROM rm_tracking")
    return {str(row[0]): int(row[1]) for row in cur.fetchall()}


def ensure(cur: Cursor, views: Iterable[str]) -> None:
    """A row per view (position 0), so `lock` always has a row to lock."""
    for view in views:
        cur.execute("INSERT INTO rm_tracking (view, position) VALUES (?, 0) ON CONFLICT (view) DO NOTHING", (view,))


def lock(cur: Cursor, views: Iterable[str]) -> None:
    """Row-lock the views' positions until commit: a second worker (or a rebuild) waits, then re-checks."""
    for view in views:
        cur.execute("UPDATE rm_tracking SET position = position WHERE view = ?", (view,))


def advance(cur: Cursor, view: str, new_position: int) -> None:
    """Move a view's position forward; called inside the transaction that wrote its rows."""
    cur.execute(
        "INSERT INTO rm_tracking (view, position) VALUES (?, ?) "
        "ON CONFLICT (view) DO UPDATE SET position = excluded.position",
        (view, new_position),
    )


def advance_all(cur: Cursor, views: Sequence[str], new_position: int) -> None:
    """`advance` for several views in one statement (the worker's group shares one position)."""
    if views:
        rows = ", ".join(["(?, ?)"] * len(views))  # placeholders only: the names are bound parameters
        cur.execute(
            f"INSERT INTO rm_tracking (view, position) VALUES {rows} "  # noqa: S608
            "ON CONFLICT (view) DO UPDATE SET position = excluded.position",
            [value for view in views for value in (view, new_position)],
        )


def reset(cur: Cursor, view: str) -> None:
    """Back to zero, in the transaction that dropped the view's tables."""
    advance(cur, view, 0)
