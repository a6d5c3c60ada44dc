"""Recorders that also answer "at which log position was this event recorded?".

A replayed submission must get its original answer again, position included, without a read model.
Chosen through the library's APPLICATION_RECORDER_TOPIC, so no code branches on the backend.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic
from psycopg.sql import SQL, Identifier


class SQLitePositionRecorder(SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writers = WriterQueue(self.datastore.pool.db_name)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self._writers.turn():
            return super().insert_events(stored_events, **kwargs)

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
    """One writer at a time across every process on one SQLite file, waiting in the kernel.

    SQLite's own busy handler polls: a writer that finds the file locked sleeps 1, 2, 5 ... 100 ms and
    tries again, so under 32 concurrent submissions through several gunicorn workers most of the
    tail latency was sleeping while the lock was already free. An flock on a file beside the database
    wakes the next writer the moment the last one commits. (Threads of one process queue on a
    threading lock first: an flock belongs to the process's open file, not to a thread.)
    SQLite's own locking still guards the file; this only orders who asks for it. In-memory
    databases have nothing to share and skip it.
    """

    def __init__(self, db_name: str) -> None:
        self._path = None if (not db_name or ":memory:" in db_name or "mode=memory" in db_name) else db_name + ".writer"
        self._threads = threading.Lock()
        self._fd: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        with self._threads:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
