"""The read-model database: a SQLite file of its own, or the PostgreSQL database of the event store.

SQL is written once with `?` placeholders in the subset both engines share; PostgreSQL gets `%s`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

MEMORY = ":memory:"


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int) -> list[Any]: ...


class _PgCursor:
    """Translates `?` placeholders so read models share one SQL text."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql.replace("?", "%s"), params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    def fetchmany(self, size: int) -> list[Any]:
        return self._cursor.fetchmany(size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class Database:
    """Transactions on the read-model store; one connection per thread for SQLite, a pool for PostgreSQL."""

    def __init__(self, sqlite_path: Path | None = None, postgres_url: str | None = None) -> None:
        if (sqlite_path is None) == (postgres_url is None):
            raise ValueError("give exactly one of sqlite_path or postgres_url")
        self.sqlite_path = sqlite_path
        self.postgres_url = postgres_url
        self._local = threading.local()
        self._pool: Any = None

    @classmethod
    def in_memory(cls) -> Database:
        """A throwaway SQLite database (time travel); private to the thread that first uses it."""
        return cls(sqlite_path=Path(MEMORY))

    @property
    def is_postgres(self) -> bool:
        return self.postgres_url is not None

    def _sqlite(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            assert self.sqlite_path is not None
            in_memory = str(self.sqlite_path) == MEMORY
            if not in_memory:
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.sqlite_path, isolation_level=None, timeout=10, check_same_thread=False)
            if not in_memory:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def _postgres_pool(self) -> Any:
        if self._pool is None:
            from psycopg_pool import ConnectionPool

            self._pool = ConnectionPool(self.postgres_url, min_size=1, max_size=10, open=True, timeout=10)
        return self._pool

    @contextmanager
    def transaction(self, write: bool = False, bulk: bool = False) -> Iterator[Cursor]:
        """A transaction: committed if the block finishes, rolled back if it raises.

        `bulk` (the worker's batches): on PostgreSQL, statements are pipelined instead of waiting for a
        round trip each; a read inside the block still sees everything sent before it.
        """
        if self.is_postgres:
            with self._postgres_pool().connection() as connection, connection.transaction():
                if bulk:
                    with connection.pipeline():
                        yield _PgCursor(connection.cursor())
                else:
                    yield _PgCursor(connection.cursor())
            return
        connection = self._sqlite()
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield connection.cursor()
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
