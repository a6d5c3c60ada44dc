"""Shared by the ledger tests: a ledger over the test app's stores, and raw SQL access to tamper with events."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from server.config import Settings
from server.domain.base import SYSTEM

Row = tuple[Any, int, str, bytes]  # originator_id, originator_version, topic, state


class RawEvents:
    """Direct access to the event table, bypassing the application: what an attacker with DB access has."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.postgres = settings.uses_postgres
        self.table = "pantau_events" if self.postgres else "stored_events"
        self.key = "notification_id" if self.postgres else "rowid"

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.postgres:
            with psycopg.connect(self.settings.database_url, autocommit=False) as conn, conn.cursor() as cur:
                yield _Placeholders(cur)
            return
        conn = sqlite3.connect(self.settings.sqlite_path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn.cursor()
            conn.execute("COMMIT")
        finally:
            conn.close()

    def row(self, position: int) -> Row:
        with self._cursor() as cur:
            cur.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {self.table} WHERE {self.key} = ?",
                (position,),
            )
            found = cur.fetchone()
        assert found is not None, f"no event at position {position}"
        return found[0], found[1], found[2], bytes(found[3])

    def positions(self) -> list[int]:
        with self._cursor() as cur:
            cur.execute(f"SELECT {self.key} FROM {self.table} ORDER BY {self.key}")
            return [row[0] for row in cur.fetchall()]

    def set_state(self, position: int, state: bytes) -> None:
        with self._cursor() as cur:
            cur.execute(f"UPDATE {self.table} SET state = ? WHERE {self.key} = ?", (state, position))

    def delete(self, position: int) -> None:
        with self._cursor() as cur:
            cur.execute(f"DELETE FROM {self.table} WHERE {self.key} = ?", (position,))

    def swap(self, first: int, second: int) -> None:
        """Exchange two rows' contents, keeping their positions (via a placeholder id: the key is unique)."""
        a, b = self.row(first), self.row(second)
        placeholder = uuid.uuid4() if self.postgres else uuid.uuid4().hex
        update = (
            f"UPDATE {self.table} SET originator_id = ?, originator_version = ?, topic = ?, state = ?"
            f" WHERE {self.key} = ?"
        )
        with self._cursor() as cur:
            cur.execute(update, (placeholder, a[1], a[2], a[3], first))
            cur.execute(update, (*a, second))
            cur.execute(update, (*b, first))


class _Placeholders:
    """Lets the tests write `?` for both engines."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> Any:
        return self._cursor.fetchall()


def add_accounts(application: Any, count: int, prefix: str = "ledger") -> None:
    """Append a few events (each account is two: created, role granted)."""
    for number in range(count):
        username = f"{prefix}_{uuid.uuid4().hex[:8]}_{number}"
        application.create_account(username, "a-long-password", "auditor", None, SYSTEM)


def altered_one_byte(state: bytes) -> bytes:
    """The state with one letter inside the committee's name changed: still valid JSON, different content."""
    start = state.index(b'"name":"') + len(b'"name":"')
    replacement = b"X" if state[start : start + 1] != b"X" else b"Y"
    return state[:start] + replacement + state[start + 1 :]
