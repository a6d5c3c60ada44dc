"""The pipeline writer's background checkpoints (SQLite): its own commits never stop to checkpoint, the
log is still copied into the database file once it passes the usual size, and it then starts over from
an empty file (beside a writer that never pauses, it would otherwise grow by every page ever written)."""

from __future__ import annotations

import time
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
        # The rows reached the database file itself, not only its log, and the log starts over, empty: its
        # size is again what tells the thread when to checkpoint next.
        assert path.stat().st_size > 40 * 4096
        assert Path(f"{path}-wal").stat().st_size == 0
    finally:
        checkpoints.close()
        db.close()


def test_a_checkpoint_copies_the_log_into_the_file_and_empties_it(tmp_path: Path) -> None:
    path = tmp_path / "readmodels.sqlite3"
    writer = Database(sqlite_path=path)
    checkpoints = BackgroundCheckpoints(writer)
    checkpoints.close()  # the thread stays out of the way; the test checkpoints when it chooses
    _write_pages(writer, transactions=10)
    wal = Path(f"{path}-wal")
    assert wal.stat().st_size > 40 * 4096
    checkpoints._checkpoint()
    assert wal.stat().st_size == 0
    with writer.statement() as cur:
        cur.execute("SELECT COUNT(*) FROM filler")
        assert cur.fetchone()[0] == 200
    _write_pages(writer, transactions=1)  # the log grows again from its start
    assert 0 < wal.stat().st_size < 40 * 4096
    writer.close()
