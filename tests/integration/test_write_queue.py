"""How saves reach the event store: writers of all processes take turns (SQLite: an flock beside the
database, waited for in the kernel instead of SQLite's sleeping busy handler; PostgreSQL: the library's
table lock), and the saves one process queued meanwhile are committed together (group commit), each
still getting its own answer."""

from __future__ import annotations

import fcntl
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

from server.config import Settings
from server.demo import import_committees
from server.domain.application import PantauApplication
from server.domain.base import Context
from server.domain.roles import Actor
from server.persistence import SQLitePositionRecorder
from server.services import build_application
from server.write_queue import WriterQueue
from tests.conftest import PPS
from tests.factories import visit_body

ADMIN = Actor("a1", "kpu_satu", "kpu_admin", None)
CONTEXT = Context(ADMIN.username, ADMIN.role)


@pytest.fixture
def application(settings: Settings, backend: str) -> Iterator[PantauApplication]:
    made = build_application(settings)
    import_committees(made)
    yield made
    made.close()


@contextmanager
def another_writer(settings: Settings, application: PantauApplication) -> Iterator[None]:
    """Hold the store's cross-process write lock, as another process in the middle of a save would."""
    if settings.uses_postgres:
        import psycopg

        recorder = application.recorder
        with psycopg.connect(settings.database_url) as connection, connection.transaction():
            table = f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'
            connection.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
            yield
        return
    lock_path = Path(str(settings.sqlite_path) + ".writer")
    assert lock_path.exists()  # the queue's file sits beside the database
    holder = os.open(lock_path, os.O_RDWR)  # another open file: flock treats it as another process
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)


def wait_until_queued(application: PantauApplication, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(application.recorder._writers._queued) < count:
        assert time.monotonic() < deadline, "the saves did not all queue"
        time.sleep(0.01)  # polling interval


def submit_behind_another_writer(settings: Settings, application: PantauApplication, bodies: list[Any]) -> list[Any]:
    """Submit every body from a thread of its own while another writer holds the lock; their receipts."""
    receipts: dict[int, Any] = {}

    def submit(i: int) -> None:
        receipts[i] = application.record_visit(ADMIN, bodies[i], CONTEXT)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(bodies))]
    with another_writer(settings, application):
        for thread in threads:
            thread.start()
        wait_until_queued(application, len(bodies) - 1)
    for thread in threads:
        thread.join(timeout=30)
    return [receipts[i] for i in range(len(bodies))]


def record_groups(application: PantauApplication) -> list[int]:
    """Sizes of the groups written in one transaction from now on."""
    sizes: list[int] = []
    insert_groups = application.recorder._insert_groups

    def counting(batch: list[Any]) -> Any:
        sizes.append(len(batch))
        return insert_groups(batch)

    application.recorder._insert_groups = counting
    return sizes


def test_a_save_waits_while_another_process_writes_then_lands(
    settings: Settings, application: PantauApplication
) -> None:
    before = application.recorder.max_notification_id()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def submit() -> None:
        outcome["receipt"] = application.record_visit(ADMIN, {**visit_body(PPS), "id": str(uuid4())}, CONTEXT)
        done.set()

    writer = threading.Thread(target=submit)
    with another_writer(settings, application):
        writer.start()
        assert not done.wait(0.5)  # queued behind the other writer, not written past it
        assert application.recorder.max_notification_id() == before
    writer.join(timeout=30)
    assert done.is_set()
    assert outcome["receipt"].position == before + 1


def test_saves_queued_meanwhile_commit_together(settings: Settings, application: PantauApplication) -> None:
    before = application.recorder.max_notification_id()
    groups = record_groups(application)
    bodies = [{**visit_body(PPS), "id": str(uuid4())} for _ in range(5)]
    answers = submit_behind_another_writer(settings, application, bodies)
    receipts = {body["id"]: answer for body, answer in zip(bodies, answers, strict=True)}
    # Everything that queued behind the other writer went in one transaction (on PostgreSQL the first
    # save may already be waiting inside the database alone).
    assert groups and max(groups) >= len(bodies) - 1 and sum(groups) <= len(bodies)
    assert application.recorder.max_notification_id() == before + len(bodies)
    for record_id, receipt in receipts.items():  # each answer names its own event's position
        assert application.recorder.position_of(uuid.UUID(record_id), 1) == receipt.position


def test_a_replay_in_a_group_still_gets_its_original_answer_and_the_others_land_once(
    settings: Settings, application: PantauApplication
) -> None:
    replayed_body = {**visit_body(PPS), "id": str(uuid4())}
    first = application.record_visit(ADMIN, replayed_body, CONTEXT)
    groups = record_groups(application)
    bodies = [{**visit_body(PPS), "id": str(uuid4())} for _ in range(6)] + [replayed_body]
    receipts = submit_behind_another_writer(settings, application, bodies)
    assert groups and max(groups) >= len(bodies) - 1  # tried together; the replay's duplicate id rolled it back
    replay = receipts[len(bodies) - 1]
    assert replay.replayed and replay.position == first.position
    fresh = sorted(receipts[i].position for i in range(len(bodies) - 1))
    # Each landed once, none lost (PostgreSQL's sequence skips the numbers the rolled-back try took).
    after = application.recorder.select_notifications(start=first.position, limit=100, inclusive_of_start=False)
    assert [notification.id for notification in after] == fresh
    assert sorted(n.originator_id for n in after) == sorted(uuid.UUID(b["id"]) for b in bodies[:-1])


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "writer"))
    inside = 0
    most = 0
    guard = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        for _ in range(200):
            with queue.turn():
                with guard:
                    inside += 1
                    most = max(most, inside)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_an_in_memory_sqlite_database_needs_no_lock_file(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # a lock file for these names would land here
    for name in (":memory:", "file:pantau?mode=memory&cache=shared"):
        recorder = SQLitePositionRecorder(SQLiteDatastore(name))
        recorder.create_table()
        assert recorder.insert_events([StoredEvent(uuid4(), 1, "pantau:Test", b"{}")]) == [1]
        recorder.datastore.close()
    assert list(tmp_path.iterdir()) == []


class Interrupted(BaseException):
    """Stands for KeyboardInterrupt or SystemExit arriving mid-turn."""


def test_a_save_whose_group_was_interrupted_is_written_by_its_own_thread_never_answered_with_nothing() -> None:
    queue = WriterQueue(None)
    written: list[str] = []
    outcomes: dict[str, Any] = {}

    def write_all(items: list[str]) -> list[str]:
        raise Interrupted

    def write_one(item: str) -> str:
        written.append(item)
        return item

    def save(item: str) -> None:
        try:
            outcomes[item] = queue.together(item, write_all, write_one)
        except Interrupted:
            outcomes[item] = "interrupted"

    threads = [threading.Thread(target=save, args=(item,)) for item in ("a", "b")]
    with queue._threads:  # another thread's turn: both saves queue behind it, to be taken as one group
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(queue._queued) < 2:
            assert time.monotonic() < deadline, "the saves did not queue"
            time.sleep(0.01)  # polling interval
    for thread in threads:
        thread.join(timeout=30)
    # The thread whose turn it was saw the interruption; the other wrote its own save afterwards.
    assert sorted(outcomes.values()) == sorted(["interrupted", *written]) and len(written) == 1
    [survivor] = written
    assert outcomes[survivor] == survivor
