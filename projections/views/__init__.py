"""The read models. Each is a View: its tables, how each event changes them, how to drop them."""

from __future__ import annotations

from typing import Any, ClassVar

from projections.db import Cursor


class View:
    """A read model: tables plus an event handler, kept at its own log position."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]

    def create(self, cur: Cursor) -> None:
        """Create tables and indexes if missing."""
        raise NotImplementedError

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        """Change the rows for one event at one log position."""
        raise NotImplementedError

    def drop(self, cur: Cursor) -> None:
        """Remove every table of this view (for a rebuild from zero)."""
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
