"""Per-batch row buffers: a view reads the rows a batch touches in one query, changes them in memory
event by event, and writes them back in one statement at the end of the batch.

A statement per event made the worker spend its time in the driver (PostgreSQL's most of all: each
`execute` costs tens of microseconds in psycopg even when pipelined); a few statements per batch of
hundreds of events do not. Everything still happens inside the worker's transaction, beside the
tracking positions, so exactly-once is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from projections.db import Cursor

# Keys per SELECT ... IN (...): well under SQLite's and PostgreSQL's limits on bound parameters.
MAX_KEYS = 10_000

Row = dict[str, Any]


def select_in(cur: Cursor, select: str, keys: Iterable[Any]) -> list[Any]:
    """The rows of `select` (a query ending in `IN`) over distinct keys, a chunk of keys per query."""
    wanted = list(dict.fromkeys(keys))
    found: list[Any] = []
    for start in range(0, len(wanted), MAX_KEYS):
        chunk = wanted[start : start + MAX_KEYS]
        cur.execute(select + " (" + ", ".join("?" * len(chunk)) + ")", chunk)
        found += cur.fetchall()
    return found


class Table:
    """A read-model table: column name -> SQL definition, in order; the first column is the key."""

    def __init__(self, name: str, definition: dict[str, str]) -> None:
        self.name = name
        self.definition = dict(definition)
        self.columns = tuple(definition)
        self.key = self.columns[0]
        # Each column's SQL type (the definition's first word): PostgreSQL's bulk insert casts to it.
        self.types = tuple(spec.split()[0] for spec in definition.values())
        self.values_of = itemgetter(*self.columns)  # a row dict -> its values in column order, in C

    def create(self, cur: Cursor) -> None:
        """CREATE TABLE IF NOT EXISTS, columns in the order given."""
        columns = ", ".join(f"{name} {spec}" for name, spec in self.definition.items())
        cur.execute(f"CREATE TABLE IF NOT EXISTS {self.name} ({columns})")

    def insert(self, cur: Cursor, rows: list[tuple[Any, ...]], keep_existing: bool = False) -> None:
        """Insert new rows in one statement: with `keep_existing` a row whose key exists is skipped."""
        conflict = f"ON CONFLICT ({self.key}) DO NOTHING" if keep_existing else ""
        cur.insert_many(self.name, self.columns, self.types, rows, conflict)

    def upsert(self, cur: Cursor, rows: list[tuple[Any, ...]]) -> None:
        """Insert rows, replacing every column of a row whose key exists."""
        updates = ", ".join(f"{column} = excluded.{column}" for column in self.columns[1:])
        cur.insert_many(self.name, self.columns, self.types, rows, f"ON CONFLICT ({self.key}) DO UPDATE SET {updates}")


class Rows:
    """The rows of one table that a view's batches touch, keyed by the table's first column.

    `load` fetches the keys not yet seen in one query (a missing row is remembered as None, so it is
    never asked for twice); `put` records a new or changed row; `flush` writes the changed rows.
    Rows written earlier are read back from here, not from the database, until `forget`: the worker
    forgets before every batch it reads and writes in one transaction, the pipeline (projections/pipeline.py)
    only once everything it sent is committed, because until then this buffer is the only place that
    holds what its earlier batches wrote.
    """

    def __init__(self, table: Table) -> None:
        self.table = table
        self._key = table.key
        self._rows: dict[Any, Row | None] = {}
        self._stored: set[Any] = set()  # keys whose row the database holds (loaded, or written by a flush)
        self._changed: dict[Any, None] = {}  # an insertion-ordered set: rows are written in a stable order

    def load(self, cur: Cursor, keys: Iterable[Any]) -> None:
        """Fetch the rows for keys this buffer has not seen yet."""
        missing = [key for key in keys if key not in self._rows]
        columns = self.table.columns
        select = f"SELECT {', '.join(columns)} FROM {self.table.name} WHERE {self.table.key} IN"  # noqa: S608
        for key in missing:
            self._rows[key] = None
        for values in select_in(cur, select, missing):
            self._rows[values[0]] = dict(zip(columns, values, strict=True))
            self._stored.add(values[0])

    def forget(self) -> None:
        """Drop every remembered row: the next batch reads what it needs from the database again."""
        self._rows.clear()
        self._stored.clear()
        self._changed.clear()

    def remembered(self) -> list[Row]:
        """The rows this buffer holds (those it found or wrote), as they stand now."""
        return [row for row in self._rows.values() if row is not None]

    def get(self, key: Any) -> Row | None:
        """The row as the batch has left it so far; None if it does not exist (or was never loaded)."""
        return self._rows.get(key)

    def put(self, row: Row) -> None:
        """A new row, or a changed one: written back by `flush`. A row that `load` did not find (or was
        never asked for) is new: the database must not hold its key."""
        key = row[self._key]
        self._rows[key] = row
        self._changed[key] = None

    def flush(self, cur: Cursor) -> None:
        """Write every changed row: the new ones appended (COPY on PostgreSQL), the stored ones upserted.

        Most rows of a batch are new (a record is created once and changed a few times), and appending
        them skips the upsert's conflict handling: on PostgreSQL, COPY instead of an INSERT over arrays
        that psycopg builds in Python."""
        new: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        for key in self._changed:
            row = self._rows[key]
            if row is not None:
                (changed if key in self._stored else new).append(self.table.values_of(row))
        cur.append_many(self.table.name, self.table.columns, new)
        self.table.upsert(cur, changed)
        self._stored.update(self._changed)
        self._changed.clear()
