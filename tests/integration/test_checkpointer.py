"""The pipeline writer's background checkpoints (SQLite): its own commits never stop to checkpoint, the
log is still copied into the database file once it passes the usual size, and it then starts over from
an empty file (beside a writer that never pauses, it would otherwise grow by every page ever written)."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from projections import checkpointer
from projections.checkpointer import BackgroundCheckpoints
from projections.db import WAL_AUTOCHECKPOINT_PAGES, Database

DEADLINE_SECONDS = 20


def _autocheckpoint(db: Database) -> int:
    with db.statement() as cur:
        cur.execute("PRAGMA wal_autocheckpoint")
        return cur.fetchone()[0]


def _write_pages(db: Database, transactions: int) -> None:
    with db.transaction(write=True) as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, body TEXT)")
    for _ in range(transactions):
        with db.transaction(write=True) as cur:
            cur.executemany("INSERT INTO filler (body) VALUES (?)", [("x" * 1000,)] * 20)


def test_the_writing_connection_leaves_checkpoints_to_the_thread_until_closed(tmp_path: Path) -> None:
    db = Database(sqlite_path=tmp_path / "readmodels.sqlite3")
    checkpoints = BackgroundCheckpoints(db)
    assert _autocheckpoint(db) == 0
    checkpoints.close()
    assert _autocheckpoint(db) == WAL_AUTOCHECKPOINT_PAGES
    assert not checkpoints._thread.is_alive()
    db.close()


def test_the_thread_checkpoints_once_the_log_passes_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpointer, "WAL_AUTOCHECKPOINT_PAGES", 20)  # 80 KB instead of 40 MB
    path = tmp_path / "readmodels.sqlite3"
    db = Database(sqlite_path=path)
    checkpoints = BackgroundCheckpoints(db)
    try:
        _write_pages(db, transactions=10)  # about 50 pages of rows; this connection checkpoints nothing
        deadline = time.monotonic() + DEADLINE_SECONDS
        while checkpoints.checkpoints == 0 and time.monotonic() < deadline:
            time.sleep(checkpointer.POLL_SECONDS)  # waiting for a condition, bounded; the thread polls as often
        assert checkpoints.checkpoints >= 1
        # The rows reached the database file itself, not only its log...
        assert path.stat().st_size > 40 * 4096
        # ...and between two transactions the writer starts the log over, empty: its size is again what
        # tells the thread when to copy next.
        checkpoints.restart_log_if_due()
        assert checkpoints.restarts == 1
        assert Path(f"{path}-wal").stat().st_size == 0
    finally:
        checkpoints.close()
        db.close()


def _idle_checkpoints(db: Database) -> BackgroundCheckpoints:
    """Checkpoints whose thread has stopped: the test copies when it chooses."""
    checkpoints = BackgroundCheckpoints(db)
    checkpoints.close()
    with db.statement() as cur:
        cur.execute("PRAGMA wal_autocheckpoint=0")  # as while the thread runs
    return checkpoints


def _rows(path: Path) -> int:
    with closing(sqlite3.connect(path)) as reader:
        return reader.execute("SELECT COUNT(*) FROM filler").fetchone()[0]


def test_the_writer_restarts_the_log_only_once_it_was_copied_and_then_empties_it(tmp_path: Path) -> None:
    path, wal = tmp_path / "readmodels.sqlite3", tmp_path / "readmodels.sqlite3-wal"
    writer = Database(sqlite_path=path)
    checkpoints = _idle_checkpoints(writer)
    _write_pages(writer, transactions=10)
    size = wal.stat().st_size
    checkpoints.restart_log_if_due()  # nothing copied yet: nothing to restart
    assert checkpoints.restarts == 0 and wal.stat().st_size == size
    checkpoints._checkpoint()
    _write_pages(writer, transactions=1)  # committed after the copy: the restart copies it itself
    checkpoints.restart_log_if_due()
    assert checkpoints.restarts == 1 and wal.stat().st_size == 0
    assert _rows(path) == 220
    _write_pages(writer, transactions=1)  # the log grows again from its start
    assert 0 < wal.stat().st_size < size
    writer.close()


def test_a_reader_still_on_the_log_holds_the_writer_up_only_briefly(tmp_path: Path) -> None:
    path, wal = tmp_path / "readmodels.sqlite3", tmp_path / "readmodels.sqlite3-wal"
    writer = Database(sqlite_path=path)
    checkpoints = _idle_checkpoints(writer)
    _write_pages(writer, transactions=10)
    checkpoints._checkpoint()
    _write_pages(writer, transactions=1)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT COUNT(*) FROM filler").fetchone()[0] == 220  # a snapshot on the log
    began = time.monotonic()
    checkpoints.restart_log_if_due()
    assert time.monotonic() - began < 2  # not the connection's 10 s busy timeout
    assert checkpoints.restarts == 0 and wal.stat().st_size > 0
    reader.execute("COMMIT")
    _write_pages(writer, transactions=1)  # the writer goes on; nothing is lost
    checkpoints._checkpoint()  # the thread copies again...
    checkpoints.restart_log_if_due()  # ...and with the reader gone, the restart succeeds
    assert checkpoints.restarts == 1 and wal.stat().st_size == 0
    assert _rows(path) == 240
    reader.close()
    writer.close()
