"""SQLite checkpoints off the writer's path, for the pipeline's writer process (projections/writer.py).

In WAL mode every commit appends the pages it changed to the `-wal` file, and the connection whose
commit takes the file past `wal_autocheckpoint` pages copies them into the database file and syncs
it, there and then: during a long catch-up on the 100x log, commits took about a third of the
writer's time (2.3 s of 4.8 s), most of it such stalls (a checkpoint of 40 MB takes about a second on
these machines' disks), while the worker waited for its batches to be confirmed. Here the writer's
connection stops checkpointing and a thread with a connection of its own copies the log (a PASSIVE
checkpoint, which never blocks the writer: SQLite lets one checkpoint and one writer work at once,
and the sqlite3 module releases the GIL while it copies and syncs) whenever it passes the same size.
Measured on the 100x log, rebuild wall time in turns with the plain writer: 0.93 and 0.94 of it
(medians of 8 and 6 pairs).

The log must also start over, and it does so only when a write begins after everything in it was
copied, which never happens by itself beside a writer that does not pause: during the national
rebuild it grew to 10 GB. So once the thread has copied it, the writer itself, between two batches,
copies the little it committed meanwhile and empties the log (`restart_log_if_due`). Done from the
thread instead, that step had to wait for the writer's lock, then held the writer off for 80 ms at a
time (a quarter of its time, seen with strace).
"""

from __future__ import annotations

import os
import sqlite3
import threading

from projections.db import BUSY_TIMEOUT_MS, WAL_AUTOCHECKPOINT_PAGES, Database

POLL_SECONDS = 0.05
RESTART_WAIT_MS = 5
MAX_PASSES = 8
LEFTOVER_PAGES = WAL_AUTOCHECKPOINT_PAGES // 20  # a pass copying fewer is the last: the writer copies the rest


class BackgroundCheckpoints:
    """While open, checkpoints of `db` (a SQLite file) happen in a thread of their own; `close()` stops it.

    Use it from the thread whose connection writes: that connection's automatic checkpoints are turned
    off until `close()`. Any other connection to the file (the live worker, web processes) still
    checkpoints as before."""

    def __init__(self, db: Database) -> None:
        assert db.sqlite_path is not None
        self._db = db
        self._wal = f"{db.sqlite_path}-wal"
        self._stop = threading.Event()
        self._copied = threading.Event()  # the log is copied: the writer may restart it
        self.checkpoints = 0
        self.restarts = 0
        with db.statement() as cur:
            cur.execute("PRAGMA page_size")
            self._limit_bytes = WAL_AUTOCHECKPOINT_PAGES * cur.fetchone()[0]
            cur.execute("PRAGMA wal_autocheckpoint=0")
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(POLL_SECONDS):
                if not self._copied.is_set() and self._wal_bytes() > self._limit_bytes:
                    self._checkpoint()
        finally:
            self._db.close()  # this thread's own connection

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(self._wal)
        except OSError:  # no log yet
            return 0

    def _checkpoint(self) -> None:
        """Copy the log, again and again while the writer's commits during the last copy were many, so
        that what the writer's restart has to copy itself is little."""
        copied_before = 0
        try:
            with self._db.statement() as cur:
                for _ in range(MAX_PASSES):
                    cur.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    busy, _, copied = cur.fetchone()
                    if busy:
                        return  # another checkpoint is running: the next poll tries again
                    if copied - copied_before < LEFTOVER_PAGES:
                        break
                    copied_before = copied
        except sqlite3.Error:
            return  # failing: the next poll tries again; nothing is lost meanwhile, the log only grows
        self.checkpoints += 1
        self._copied.set()

    def restart_log_if_due(self) -> None:
        """From the writing thread, between its transactions: once the thread has copied the log, copy
        what was committed since and start the log over from an empty file (its size is what the thread
        watches). Waits at most RESTART_WAIT_MS for readers still reading the log (a long export): then
        the thread copies again and the next batch tries again."""
        if not self._copied.is_set():
            return
        with self._db.statement() as cur:
            try:
                cur.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
                cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _, _ = cur.fetchone()
                self.restarts += not busy
            except sqlite3.Error:
                pass  # the log stays as it is: the thread copies it again, the next batch tries again
            finally:
                cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._copied.clear()

    def close(self) -> None:
        """Stop checkpointing here and give the writing connection its automatic checkpoints back."""
        self._stop.set()
        self._thread.join()
        with self._db.statement() as cur:
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
