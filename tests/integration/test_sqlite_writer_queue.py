"""SQLite writers queue on an flock beside the event store: a writer waits in the kernel, not in
SQLite's sleeping busy handler, and still gets its turn (and its answer) once the lock is free."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from server.config import Settings
from server.domain.base import Context
from server.domain.roles import Actor
from server.persistence import WriterQueue
from server.services import build_application
from tests.conftest import PPS
from tests.factories import visit_body

ADMIN = Actor("a1", "kpu_satu", "kpu_admin", None)


def test_a_save_waits_for_the_writer_lock_held_by_another_process_then_lands(settings: Settings) -> None:
    from server.demo import import_committees

    application = build_application(settings)
    try:
        import_committees(application)
        lock_path = Path(str(settings.sqlite_path) + ".writer")
        assert lock_path.exists()  # the queue's file sits beside the database
        holder = os.open(lock_path, os.O_RDWR)  # another open file: flock treats it as another process
        fcntl.flock(holder, fcntl.LOCK_EX)
        before = application.recorder.max_notification_id()
        done = threading.Event()
        outcome: dict[str, Any] = {}

        def submit() -> None:
            body = {**visit_body(PPS), "id": str(uuid4())}
            outcome["receipt"] = application.record_visit(ADMIN, body, Context(ADMIN.username, ADMIN.role))
            done.set()

        writer = threading.Thread(target=submit)
        writer.start()
        try:
            assert not done.wait(0.5)  # queued behind the holder, not written past it
            assert application.recorder.max_notification_id() == before
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
            os.close(holder)
        writer.join(timeout=30)
        assert done.is_set()
        assert outcome["receipt"].position == before + 1
    finally:
        application.close()


def test_threads_of_one_process_take_turns_too(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "events.sqlite3"))
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


def test_an_in_memory_database_needs_no_queue(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # a lock file for these names would land here
    for name in (":memory:", "file:pantau?mode=memory&cache=shared"):
        with WriterQueue(name).turn():
            pass
    assert list(tmp_path.iterdir()) == []


def test_saves_queued_meanwhile_commit_together_and_a_replay_among_them_still_gets_its_own_answer(
    settings: Settings,
) -> None:
    from server.demo import import_committees

    application = build_application(settings)
    try:
        import_committees(application)
        context = Context(ADMIN.username, ADMIN.role)
        replayed_body = {**visit_body(PPS), "id": str(uuid4())}
        first = application.record_visit(ADMIN, replayed_body, context)
        groups: list[int] = []
        insert_groups = application.recorder._insert_groups

        def counting(batch: list[Any]) -> Any:
            groups.append(len(batch))
            return insert_groups(batch)

        application.recorder._insert_groups = counting
        bodies = [{**visit_body(PPS), "id": str(uuid4())} for _ in range(6)] + [replayed_body]
        receipts: dict[int, Any] = {}
        holder = os.open(Path(str(settings.sqlite_path) + ".writer"), os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)  # another process writing: every save below queues

        def submit(i: int) -> None:
            receipts[i] = application.record_visit(ADMIN, bodies[i], context)

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(bodies))]
        try:
            for thread in threads:
                thread.start()
            queue = application.recorder._writers
            deadline = time.monotonic() + 30
            while len(queue._queued) < len(bodies):
                assert time.monotonic() < deadline, "the saves did not all queue"
                time.sleep(0.01)
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
            os.close(holder)
        for thread in threads:
            thread.join(timeout=30)
        assert groups == [len(bodies)]  # tried as one transaction; the replay's duplicate id rolled it back
        replay = receipts[len(bodies) - 1]
        assert replay.replayed and replay.position == first.position
        fresh = sorted(receipts[i].position for i in range(len(bodies) - 1))
        assert fresh == list(range(first.position + 1, first.position + len(bodies)))  # each once, none lost
        assert application.recorder.max_notification_id() == first.position + len(bodies) - 1
    finally:
        application.close()


def test_a_group_without_conflicts_is_one_transaction(settings: Settings) -> None:
    from server.demo import import_committees

    application = build_application(settings)
    try:
        import_committees(application)
        context = Context(ADMIN.username, ADMIN.role)
        before = application.recorder.max_notification_id()
        groups: list[int] = []
        insert_groups = application.recorder._insert_groups
        application.recorder._insert_groups = lambda batch: (groups.append(len(batch)), insert_groups(batch))[1]
        bodies = [{**visit_body(PPS), "id": str(uuid4())} for _ in range(5)]
        holder = os.open(Path(str(settings.sqlite_path) + ".writer"), os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)
        threads = [threading.Thread(target=application.record_visit, args=(ADMIN, body, context)) for body in bodies]
        try:
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 30
            while len(application.recorder._writers._queued) < len(bodies):
                assert time.monotonic() < deadline, "the saves did not all queue"
                time.sleep(0.01)
        finally:
            fcntl.flock(holder, fcntl.LOCK_UN)
            os.close(holder)
        for thread in threads:
            thread.join(timeout=30)
        assert groups == [len(bodies)]
        assert application.recorder.max_notification_id() == before + len(bodies)
    finally:
        application.close()
