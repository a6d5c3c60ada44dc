"""The PostgreSQL recorder's statements, rendered once: the same text, rows and notifications as the library's."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from server.config import Settings
from server.persistence import PostgresPositionRecorder
from server.services import build_application

pytestmark = pytest.mark.postgres
VERSIONS = 6


@pytest.fixture
def recorder(tmp_path: Path, postgres_database: str) -> Iterator[PostgresPositionRecorder]:
    application = build_application(Settings(instance_path=tmp_path / "instance", database_url=postgres_database))
    assert isinstance(application.recorder, PostgresPositionRecorder)
    yield application.recorder
    application.close()


def stored(originator: Any, version: int) -> StoredEvent:
    return StoredEvent(
        originator_id=originator, originator_version=version, topic=f"t{version}", state=b"s%d" % version
    )


def library_text(recorder: PostgresPositionRecorder, name: str) -> Any:
    """The statement as the library itself builds it for this recorder's datastore and table."""
    library = PostgresApplicationRecorder(recorder.datastore, events_table_name=recorder.events_table_name)
    return getattr(library, name)


def test_rendered_statements_are_the_librarys_own_text(recorder: PostgresPositionRecorder) -> None:
    assert recorder.insert_events_statement == library_text(recorder, "insert_events_statement").as_bytes(None)
    assert recorder.max_notification_id_statement == library_text(recorder, "max_notification_id_statement").as_bytes(
        None
    )
    assert recorder.lock_table_statements == [s.as_bytes(None) for s in library_text(recorder, "lock_table_statements")]
    assert b"LOCK TABLE" in recorder.lock_table_statements[1]
    assert recorder._notify_statement == f'NOTIFY "{recorder.channel_name}"'.encode()


def test_select_events_answers_as_the_library_does_for_every_shape_of_arguments(
    recorder: PostgresPositionRecorder,
) -> None:
    originator, other = uuid4(), uuid4()
    recorder.insert_events([stored(originator, v) for v in range(1, VERSIONS + 1)] + [stored(other, 1)])
    for gt, lte, desc, limit in itertools.product((None, 0, 2, VERSIONS), (None, 1, 4), (False, True), (None, 1, 3)):
        ours = recorder.select_events(originator, gt=gt, lte=lte, desc=desc, limit=limit)
        theirs = PostgresApplicationRecorder.select_events(recorder, originator, gt=gt, lte=lte, desc=desc, limit=limit)
        assert ours == theirs, (gt, lte, desc, limit)
    assert [e.originator_version for e in recorder.select_events(originator, gt=2, lte=5, desc=True, limit=2)] == [5, 4]
    assert recorder.select_events(uuid4()) == []


def test_a_save_still_notifies_listeners_and_returns_positions_in_order(
    recorder: PostgresPositionRecorder, postgres_database: str
) -> None:
    with psycopg.connect(postgres_database, autocommit=True) as listener:
        listener.execute(f'LISTEN "{recorder.channel_name}"')
        positions = recorder.insert_events([stored(uuid4(), 1), stored(uuid4(), 1)])
        received = list(listener.notifies(timeout=5.0, stop_after=1))
    assert len(received) == 1 and received[0].channel == recorder.channel_name
    assert positions is not None and list(positions) == sorted(positions) and len(positions) == 2
    assert recorder.max_notification_id() == positions[-1]
