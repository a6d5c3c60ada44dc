"""The read-model database: a SQLite file of its own, or the PostgreSQL database of the event store.

SQL is written once with `?` placeholders in the subset both engines share; PostgreSQL gets `%s`.
Writing many rows at once is the one place the engines differ (`insert_many`, `append_many`): SQLite
runs one prepared statement over every row in C; PostgreSQL gets one statement over column arrays
(`unnest`) or COPY, because psycopg spends tens of microseconds of Python per statement or per row.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

MEMORY = ":memory:"
# In WAL mode the fsyncs happen at checkpoints, by default every 1,000 pages (4 MB): about every tenth
# batch of the worker, a third of its time. Every 10,000 pages instead; the WAL file then grows to about
# 40 MB between checkpoints, which readers handle as well.
WAL_AUTOCHECKPOINT_PAGES = 10_000
BUSY_TIMEOUT_MS = 10_000  # how long a SQLite connection waits for a lock before giving up
# On PostgreSQL a transaction that changes what the views answer notifies this channel as it commits,
# so web processes may keep what they read until the next one (server/status_cache.py).
READMODELS_CHANNEL = "pantau_readmodels"


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int) -> list[Any]: ...
    def insert_many(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]], conflict: str = "") -> None: ...
    def append_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...


def _insert(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)})"


class _SqliteCursor(sqlite3.Cursor):
    """sqlite3's cursor with the bulk writes of the Cursor protocol."""

    def insert_many(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]], conflict: str = "") -> None:
        """INSERT every row (`conflict`: an ON CONFLICT clause); `types` matter to PostgreSQL only."""
        if rows:
            values = ", ".join("?" * len(columns))
            self.executemany(f"{_insert(table, columns)} VALUES ({values}) {conflict}", rows)

    def append_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT rows whose keys are known to be new (a duplicate is an error)."""
        self.insert_many(table, columns, (), rows)


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

    def insert_many(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]], conflict: str = "") -> None:
        """One statement over one array per column: psycopg parses and binds a dozen parameters, not thousands."""
        if rows:
            arrays = ", ".join(f"%s::{sql_type}[]" for sql_type in types)
            self._cursor.execute(
                f"{_insert(table, columns)} SELECT * FROM unnest({arrays}) {conflict}",  # noqa: S608 - view names
                [list(column) for column in zip(*rows, strict=True)],
            )

    def append_many(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY: the cheapest way in for rows whose keys are known to be new (a duplicate is an error)."""
        if rows:
            with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


class Database:
    """Transactions on the read-model store; one connection per thread for SQLite, a pool for PostgreSQL."""

    def __init__(self, sqlite_path: Path | None = None, postgres_url: str | None = None) -> None:
        if (sqlite_path is None) == (postgres_url is None):
            raise ValueError("give exactly one of sqlite_path or postgres_url")
        self.sqlite_path = sqlite_path
        self.postgres_url = postgres_url
        self._local = threading.local()
        self._pool: Any = None
        self._version_lock = threading.Lock()
        self._version_connection: sqlite3.Connection | None = None

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
            connection = sqlite3.connect(
                self.sqlite_path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            if not in_memory:
                connection.execute("PRAGMA journal_mode=WAL")
                # NORMAL: a commit is not fsynced until the next checkpoint, so a power cut may lose the last
                # batches. Acceptable for this file only: every row here can be rebuilt from the event log,
                # and the tracking positions roll back with the rows they describe.
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
                # Debian builds SQLite with secure_delete on: every page a DROP TABLE frees is overwritten
                # with zeros, so a rebuild's reset wrote the old tables out again (a tenth of a rebuild of the
                # 100x log, far more at national size). FAST still zeroes deleted rows in pages written
                # anyway, but leaves freed pages as they are: what they hold, the rebuilt tables hold again.
                connection.execute("PRAGMA secure_delete=FAST")
            self._local.connection = connection
        return connection

    def _postgres_pool(self) -> Any:
        if self._pool is None:
            from psycopg_pool import ConnectionPool

            # Autocommit: `transaction` opens its transactions itself, and `statement` needs none.
            self._pool = ConnectionPool(
                self.postgres_url, min_size=1, max_size=10, open=True, timeout=10, kwargs={"autocommit": True}
            )
        return self._pool

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Cursor]:
        """A transaction: committed if the block finishes, rolled back if it raises."""
        if self.is_postgres:
            # No pipeline mode: the worker sends a few statements per batch, and COPY cannot be pipelined.
            with self._postgres_pool().connection() as connection, connection.transaction():
                yield _PgCursor(connection.cursor())
            return
        connection = self._sqlite()
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield connection.cursor(_SqliteCursor)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def commit_count(self) -> int | None:
        """SQLite: a number that changes whenever any other connection, in any process, commits to the
        file (`PRAGMA data_version` on a connection of its own, which never writes); None on PostgreSQL
        and in memory. One call into SQLite, where a status read is a query."""
        if self.is_postgres or str(self.sqlite_path) == MEMORY:
            return None
        with self._version_lock:
            if self._version_connection is None:
                self._version_connection = sqlite3.connect(self.sqlite_path, isolation_level=None,
                                                           check_same_thread=False)
            return int(self._version_connection.execute("PRAGMA data_version").fetchone()[0])

    def announce(self, cur: Cursor) -> None:
        """Within a write transaction that changes views: tell listening web processes at commit
        (PostgreSQL only: on SQLite they see every commit through `commit_count`)."""
        if self.is_postgres:
            cur.execute(f"NOTIFY {READMODELS_CHANNEL}")

    @contextmanager
    def statement(self) -> Iterator[Cursor]:
        """A cursor for reads that each fit in one statement (one statement is one snapshot): no
        BEGIN and COMMIT, which on PostgreSQL are a network round trip each."""
        if self.is_postgres:
            with self._postgres_pool().connection() as connection:
                yield _PgCursor(connection.cursor())
            return
        yield self._sqlite().cursor(_SqliteCursor)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
        with self._version_lock:
            if self._version_connection is not None:
                self._version_connection.close()
                self._version_connection = None
