"""The SQLite read-model store's settings that a rebuild's speed depends on."""

from __future__ import annotations

from pathlib import Path

from projections.db import Database

ROWS, ROW_BYTES = 1000, 1000  # about a megabyte of table pages


def test_dropping_a_table_does_not_write_its_pages_again(tmp_path: Path) -> None:
    """A rebuild's reset drops every view's tables; with secure_delete on (Debian's default) SQLite
    overwrote each freed page with zeros, writing the old tables out once more."""
    path = tmp_path / "readmodels.sqlite3"
    db = Database(sqlite_path=path)
    with db.transaction(write=True) as cur:
        cur.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)")
        cur.executemany("INSERT INTO filler (body) VALUES (?)", [("x" * ROW_BYTES,)] * ROWS)
    with db.statement() as cur:
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.fetchall()
    with db.transaction(write=True) as cur:
        cur.execute("DROP TABLE filler")
    written = Path(f"{path}-wal").stat().st_size
    db.close()
    assert written < ROWS * ROW_BYTES / 10, f"the drop wrote {written} bytes to the log"
