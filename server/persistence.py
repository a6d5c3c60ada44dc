"""Recorders that also answer "at which log position was this event recorded?".

A replayed submission must get its original answer again, position included, without a read model.
Chosen through the library's APPLICATION_RECORDER_TOPIC, so no code branches on the backend.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, OperationalError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic
from psycopg.sql import SQL, Identifier

log = logging.getLogger(__name__)


class SQLitePositionRecorder(SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writers = WriterQueue(self.datastore.pool.db_name)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if any(value is not None for value in kwargs.values()):  # a tracking record (process applications): alone
            with self._writers.turn():
                return super().insert_events(stored_events, **kwargs)
        return self._writers.together(stored_events, self._insert_groups, super().insert_events)

    def _insert_groups(self, groups: list[Sequence[StoredEvent]]) -> list[Sequence[int] | None]:
        """Several saves' events in one transaction; each save's notification ids."""
        with self.datastore.transaction(commit=True) as c:
            return [self._insert_events(c, events) for events in groups]

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's query, run as one statement without a transaction around it.

        Every authenticated request fast-forwards its account (a revoked token must stop working at
        once in every process) with this one SELECT; the library's BEGIN and ROLLBACK around it were
        two more calls into SQLite per request. One statement reads one consistent snapshot anyway.
        """
        statement = self.select_events_statement
        params: list[Any] = [originator_id.hex if isinstance(originator_id, UUID) else originator_id]
        if gt is not None:
            statement += "AND originator_version>? "
            params.append(gt)
        if lte is not None:
            statement += "AND originator_version<=? "
            params.append(lte)
        statement += "ORDER BY originator_version DESC " if desc else "ORDER BY originator_version ASC "
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        try:
            with self.datastore.get_connection(commit=False) as connection:
                cursor = connection.cursor()
                cursor.execute(statement, params)
                rows = cursor.fetchall()
        except sqlite3.OperationalError as error:  # as the library's transaction would raise it
            raise OperationalError(error) from error
        return [
            StoredEvent(
                originator_id=self.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in rows
        ]

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The notification id (log position) of one stored event."""
        with self.datastore.transaction(commit=False) as c:
            # The table name is the library's own, never input.
            statement = f"SELECT rowid FROM {self.events_table_name} WHERE originator_id=? AND originator_version=?"  # noqa: S608
            c.execute(statement, (originator_id.hex, version))
            row = c.fetchone()
        return None if row is None else int(row[0])


class PostgresPositionRecorder(PostgresApplicationRecorder):
    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The notification id (log position) of one stored event."""
        statement = SQL(
            "SELECT notification_id FROM {schema}.{table} WHERE originator_id=%s AND originator_version=%s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (originator_id, version))
            row = c.fetchone()
        return None if row is None else int(row["notification_id"])


class POPOPositionRecorder(POPOApplicationRecorder):
    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The notification id (log position) of one stored event: its 1-based place in the list."""
        with self._database_lock:
            index = self._stored_events_index.get(str(originator_id), {}).get(version)
        return None if index is None else index + 1


class POPOPositionFactory(POPOFactory):
    """The in-memory store (unit tests), honouring APPLICATION_RECORDER_TOPIC as the SQL factories do."""

    def application_recorder(self) -> ApplicationRecorder:
        topic = self.env.get(self.APPLICATION_RECORDER_TOPIC)
        return resolve_topic(topic)() if topic else super().application_recorder()


class WriterQueue:
    """One writer at a time across every process on one SQLite file, waiting in the kernel, and
    concurrent saves of one process committed together.

    SQLite's own busy handler polls: a writer that finds the file locked sleeps 1, 2, 5 ... 100 ms and
    tries again, so under 32 concurrent submissions through several gunicorn workers most of the
    tail latency was sleeping while the lock was already free. An flock on a file beside the database
    wakes the next writer the moment the last one commits. (Threads of one process queue on a
    threading lock first: an flock belongs to the process's open file, not to a thread.)

    Group commit: with the lock that busy, the commit's fsync is the scarce thing. A thread that gets
    the turn writes every save its process's other threads have queued meanwhile in one transaction
    (one fsync); they find their answers ready. If that transaction fails (one save's id already
    exists: an idempotent replay), each save is written alone and gets its own answer.

    SQLite's own locking still guards the file; this only orders who asks for it. In-memory
    databases have no file to lock.
    """

    def __init__(self, db_name: str) -> None:
        self._path = None if (not db_name or ":memory:" in db_name or "mode=memory" in db_name) else db_name + ".writer"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._queued: list[_Save] = []
        self._queued_lock = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """This thread's turn to write, alone."""
        with self._threads, self._file():
            yield

    def together(self, item: Any, write_all: Callable[[list[Any]], list[Any]], write_one: Callable[[Any], Any]) -> Any:
        """`write_one(item)`'s answer, though it may have been written by `write_all` with others' items."""
        save = _Save(item)
        with self._queued_lock:
            self._queued.append(save)
        with self._threads:
            if not save.done:  # else a thread that had the turn before us wrote ours too
                with self._file():
                    # Taken once the file is ours: everything queued while another process wrote goes too.
                    with self._queued_lock:
                        group, self._queued = self._queued, []
                    _write(group, write_all, write_one)
        if save.error is not None:
            raise save.error
        return save.result

    @contextmanager
    def _file(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _written_together(group: list[_Save], write_all: Callable[[list[Any]], list[Any]]) -> bool:
    """True if one transaction took every save; False if it was rolled back (the caller writes them one by one)."""
    try:
        results = write_all([save.item for save in group])
    except Exception:  # rolled back whole; each save then gets its own outcome alone
        log.debug("group of %d saves rolled back; writing them one by one", len(group))
        return False
    for save, result in zip(group, results, strict=True):
        save.result = result
    return True


class _Save:
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


def _write(group: list[_Save], write_all: Callable[[list[Any]], list[Any]], write_one: Callable[[Any], Any]) -> None:
    try:
        if len(group) > 1 and _written_together(group, write_all):
            return
        for save in group:
            try:
                save.result = write_one(save.item)
            except Exception as error:  # handed to the thread whose save it was
                save.error = error
    finally:
        for save in group:
            save.done = True
