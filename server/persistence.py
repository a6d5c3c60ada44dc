"""The event store's recorders: the library's, plus "at which log position was this event recorded?"
and concurrent saves written through a WriterQueue (server/write_queue.py).

A replayed submission must get its original answer again, position included, without a read model.
Chosen through the library's APPLICATION_RECORDER_TOPIC, so no code branches on the backend.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, InterfaceError, OperationalError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic, retry
from psycopg.sql import SQL, Composable, Identifier, Literal

from server.account_listener import CHANNEL, LEASE_SECONDS, LEASES_TABLE, AccountListener, is_watched, payloads
from server.account_stamp import AccountStamp
from server.write_queue import WriterQueue

LEASE_WAIT_SLACK_SECONDS = 2.0  # beyond LEASE_SECONDS, which already bounds the wait (see _await_listeners)
log = logging.getLogger(__name__)


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
        self._stamp_path = None if in_memory else db_name + ".accounts"
        self._stamp: AccountStamp | None = None  # this recorder's own, to announce account changes with

    def account_watch(self) -> AccountStamp | None:
        """What lets a process serve accounts from memory (server/account_stamp.py); None in memory."""
        return None if self._stamp_path is None else AccountStamp(self._stamp_path)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Saved (committed), and once account events are among them, announced to every process."""
        ids = super().insert_events(stored_events, **kwargs)
        if self._stamp_path is not None and any(is_watched(event.topic) for event in stored_events):
            if self._stamp is None:
                self._stamp = AccountStamp(self._stamp_path)
            self._stamp.changed()
        return ids

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
        # Accounts cached by web processes stay true through these (server/account_listener.py).
        leases = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(LEASES_TABLE))
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {} (holder text PRIMARY KEY, acked bigint NOT NULL, "
            "expires_at timestamptz NOT NULL, epoch bigint NOT NULL DEFAULT 0)"
        ).format(leases))
        self._account_notify_statement = rendered(SQL("SELECT pg_notify({}, %s)").format(Literal(CHANNEL)))
        self._lagging_lease_statement = rendered(
            SQL("SELECT holder FROM {} WHERE expires_at > now() AND acked < %s LIMIT 1").format(leases)
        )

    def account_watch(self) -> AccountListener:
        """A listener for this store's account changes, on a connection of its own."""
        pool = self.datastore.pool
        return AccountListener(pool.conninfo, pool.kwargs, self.datastore.schema, self.events_table_name)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Saved, and once account events are among them, known to every live AccountListener."""
        ids = super().insert_events(stored_events, **kwargs)
        if ids:
            watched = [position for position, event in zip(ids, stored_events, strict=True) if is_watched(event.topic)]
            if watched:
                self._await_listeners(max(watched))
        return ids

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        """The library's ids, then (same transaction) a NOTIFY for the account events among them."""
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        changes = [
            (position, event.originator_id if isinstance(event.originator_id, UUID) else UUID(event.originator_id))
            for position, event in zip(ids, stored_events, strict=True)  # RETURNING: one id per event
            if is_watched(event.topic)
        ]
        for payload in payloads(changes):
            curs.execute(self._account_notify_statement, (payload,))
        return ids

    def _await_listeners(self, position: int) -> None:
        """Return once every live lease has acked `position` or expired.

        A listener acks in order and renews every second, so no lease can stay live without acking for
        longer than LEASE_SECONDS; the slack only covers a slow database. The events are committed by
        now: if the wait cannot finish, the save still stands, and we say so in the log.
        """
        deadline = time.monotonic() + LEASE_SECONDS + LEASE_WAIT_SLACK_SECONDS
        pause = 0.001
        while True:
            with self.datastore.get_connection() as conn:
                lagging = conn.execute(self._lagging_lease_statement, (position,)).fetchone()
            if lagging is None:
                return
            if time.monotonic() > deadline:
                log.error("a lease (%s) neither acked position %s nor expired", lagging["holder"], position)
                return
            time.sleep(pause)  # a listener acks within milliseconds; polling beats holding a LISTEN per save
            pause = min(pause * 2, 0.02)

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
