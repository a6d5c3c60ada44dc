"""The event store's recorders: the library's, plus "at which log position was this event recorded?"
and concurrent saves written through a WriterQueue (server/write_queue.py).

A replayed submission must get its original answer again, position included, without a read model.
Chosen through the library's APPLICATION_RECORDER_TOPIC, so no code branches on the backend.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, InterfaceError, OperationalError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic, retry
from psycopg.sql import SQL, Composable, Identifier

from server.write_queue import WriterQueue


class GroupCommitted:
    """Saves go through a WriterQueue (server/write_queue.py): queued ones commit together. A recorder
    using this sets `_writers` and says how several saves go in one transaction (`_insert_groups`)."""

    _writers: WriterQueue

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        library = super().insert_events  # type: ignore[misc]
        if any(value is not None for value in kwargs.values()):  # a tracking record (process applications): alone
            with self._writers.turn():
                return library(stored_events, **kwargs)
        return self._writers.together(stored_events, self._insert_groups, library)

    def _insert_groups(self, groups: list[Sequence[StoredEvent]]) -> list[Sequence[int] | None]:
        raise NotImplementedError


class SQLitePositionRecorder(GroupCommitted, SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        db_name = self.datastore.pool.db_name
        in_memory = not db_name or ":memory:" in db_name or "mode=memory" in db_name
        self._writers = WriterQueue(None if in_memory else db_name + ".writer")

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


class PostgresPositionRecorder(GroupCommitted, PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library takes an exclusive lock on the events table for every insert, so writers of all
        # processes already queue in PostgreSQL; a process's own concurrent saves commit together.
        self._writers = WriterQueue(None)
        # The library keeps its statements as psycopg `Composed` objects, which psycopg renders again on
        # every execute (quoting each identifier anew) and cannot cache; a save ran four of them and every
        # authenticated request one more. Rendered once here, they are plain bytes psycopg converts once
        # per process. Same text, same parameters (tests/integration/test_postgres_statements.py).
        self.insert_events_statement = rendered(self.insert_events_statement)
        self.lock_table_statements = [rendered(statement) for statement in self.lock_table_statements]
        self.max_notification_id_statement = rendered(self.max_notification_id_statement)
        self._notify_statement = rendered(SQL("NOTIFY {0}").format(Identifier(self.channel_name)))
        self._select_events_statements: dict[tuple[bool, bool, bool, bool], bytes] = {}

    def _notify_channel(self, curs: Any) -> None:
        curs.execute(self._notify_statement)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's query and rows, its statement rendered once per shape of the arguments."""
        shape = (gt is not None, lte is not None, desc, limit is not None)
        statement = self._select_events_statements.get(shape)
        if statement is None:
            statement = self._select_events_statements[shape] = rendered(select_events_statement(
                self.select_events_statement, *shape
            ))
        params = [originator_id, *(value for value in (gt, lte, limit) if value is not None)]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    def _insert_groups(self, groups: list[Sequence[StoredEvent]]) -> list[Sequence[int] | None]:
        """Several saves' events in one INSERT (one lock, one commit); each save's notification ids,
        which RETURNING gives in insertion order."""
        # The library's own insert (not GroupCommitted's, which would queue behind this very group).
        all_events = [event for events in groups for event in events]
        ids = list(PostgresApplicationRecorder.insert_events(self, all_events) or ())
        answers: list[Sequence[int] | None] = []
        for events in groups:
            answers.append(ids[: len(events)])
            del ids[: len(events)]
        return answers

    def position_of(self, originator_id: UUID, version: int) -> int | None:
        """The notification id (log position) of one stored event."""
        statement = SQL(
            "SELECT notification_id FROM {schema}.{table} WHERE originator_id=%s AND originator_version=%s"
        ).format(schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name))
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, (originator_id, version))
            row = c.fetchone()
        return None if row is None else int(row["notification_id"])


def rendered(statement: Composable) -> bytes:
    """A statement as the bytes psycopg sends (identifiers quoted without a connection, as psycopg allows)."""
    return statement.as_bytes(None)


def select_events_statement(base: Composable, gt: bool, lte: bool, desc: bool, limit: bool) -> Composable:
    """The library's select_events statement for one shape of its arguments, built as the library does."""
    statement = base
    if gt:
        statement += SQL(" AND originator_version > %s")
    if lte:
        statement += SQL(" AND originator_version <= %s")
    statement += SQL(" ORDER BY originator_version DESC" if desc else " ORDER BY originator_version ASC")
    if limit:
        statement += SQL(" LIMIT %s")
    return statement


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
