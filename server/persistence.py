"""Recorders that also answer "at which log position was this event recorded?".

A replayed submission must get its original answer again, position included, without a read model.
Chosen through the library's APPLICATION_RECORDER_TOPIC, so no code branches on the backend.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic
from psycopg.sql import SQL, Identifier


class SQLitePositionRecorder(SQLiteApplicationRecorder):
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
