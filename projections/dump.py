"""Every row of the views' tables in a stable order: for comparing a rebuild with the live tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.db import Database
from projections.views import View


def dump(db: Database, views: Sequence[View]) -> dict[str, list[tuple[Any, ...]]]:
    """{table: rows sorted by every column}; the first column is each table's key."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    with db.transaction() as cur:
        for view in views:
            for table in view.tables:
                cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - table names come from the views
                result[table] = sorted((tuple(row) for row in cur.fetchall()), key=repr)
    return result
