"""Catching up on two cores: this process reads, decodes and projects batch after batch while a
writer process (projections/writer.py) commits the ones before.

Each batch still commits whole with its views' positions in one transaction (the writer runs
`commit_batch`, as the single-process worker does), so a crash anywhere neither loses nor applies
twice. What moves to the writer is the SQL and the commit, which the single process spent about a
third of its time waiting on; threads could not share that work, because SQLite and psycopg hand the
GIL back and forth around every row they write.

Why the views may read while earlier batches are still uncommitted: a view remembers every row it
wrote (projections.batch.Rows) until `forget`, which happens only once the writer has confirmed every
batch sent. A row the view remembers is the newest version; any other row no pending batch wrote, so
the database's committed copy is current. If a batch fails (an error, or another worker moved the
views' positions first), the batches sent after it fail the same position check (or, if another worker
stands exactly where one begins, apply onto the same rows it was projected from); the worker then
forgets, looks at the positions again and goes on. If the writer process dies, the worker goes on alone.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from projections.db import Cursor, Database
from projections.reader import read_batch
from projections.views import View
from projections.writer import READY, Writes

if TYPE_CHECKING:
    from projections.worker import Worker

log = logging.getLogger(__name__)
IN_FLIGHT = 2  # batches sent and not yet confirmed; the writer never waits for work, memory stays bounded
FORGET_EVERY = 32  # batches between waits for the writer to confirm everything, after which views forget
WRITER_COMMAND = [sys.executable, "-m", "projections.writer"]  # then the socket's file descriptor


class DeferredWrites:
    """The cursor views get while pipelined: reads go to the database now, bulk writes are recorded
    for the writer. A view writing any other way would write outside its batch's transaction: refused."""

    def __init__(self, reads: Cursor) -> None:
        self._reads = reads
        self.writes: Writes = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if not sql.lstrip().upper().startswith("SELECT"):
            raise RuntimeError(f"a pipelined view may only read with execute: {sql[:40]}")
        return self._reads.execute(sql, params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        raise RuntimeError("a pipelined view writes with insert_many or append_many")

    def fetchone(self) -> Any:
        return self._reads.fetchone()

    def fetchall(self) -> list[Any]:
        return self._reads.fetchall()

    def fetchmany(self, size: int) -> list[Any]:
        return self._reads.fetchmany(size)

    def insert_many(self, *args: Any) -> None:
        self.writes.append(("insert_many", args))

    def append_many(self, *args: Any) -> None:
        self.writes.append(("append_many", args))


class Pipeline:
    """A writer process for one worker's catch-up; `ready()` once it has opened the database."""

    def __init__(self, db: Database) -> None:
        # A fresh interpreter rather than multiprocessing: no fork of a process running other threads,
        # and no re-import of whatever script started this one. The database address travels over the
        # socket, not the command line, where `ps` would show a PostgreSQL password.
        ours, theirs = socket.socketpair()
        self._ready = self._failed = False
        self._connection = Connection(ours.detach())
        self._process: subprocess.Popen[bytes] | None = None
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own module, by this interpreter
                [*WRITER_COMMAND, str(theirs.fileno())], pass_fds=(theirs.fileno(),)
            )
            self._connection.send((db.sqlite_path, db.postgres_url))
        except OSError:  # no such program, or it exited before reading: the worker goes on alone
            self._give_up()
        finally:
            theirs.close()

    def ready(self, wait_seconds: float = 0.0) -> bool:
        """Whether the writer has started; the worker never waits (it goes on alone until then, and for
        good if the writer could not start)."""
        if not self._ready and not self._failed and self._connection.poll(wait_seconds):
            try:
                self._ready = self._connection.recv() == READY
            except (EOFError, OSError):
                self._give_up()
        return self._ready

    def _give_up(self) -> None:
        log.error("the projection writer process could not start; the worker goes on without it")
        self._failed = True

    def run(self, worker: Worker, views: list[View], start: int, stop: int | None,
            progress: Callable[[int], None] | None = None, halt: Callable[[], bool] = lambda: False) -> int:
        """Apply batches from `start` up to `stop` (or the log's end); the number of events the writer
        committed. Stops early, with views forgotten, if a batch fails or `halt()` says so."""
        pending: deque[int] = deque()  # sizes of the batches sent, oldest first
        names = [view.name for view in views]
        committed = sent = 0
        position = start
        ok = True
        self._forget(views)

        def confirm() -> bool:
            nonlocal committed
            try:
                end, done, error = self._connection.recv()
            except (EOFError, OSError):
                log.error("the projection writer process stopped; the worker goes on without it")
                pending.clear()
                return False
            size = pending.popleft()
            if error is not None:
                log.error("projection batch ending at %s failed in the writer and was rolled back: %s", end, error)
            if done:
                committed += size
                if progress is not None:
                    progress(size)
            return bool(done)

        try:
            while ok and not halt():
                batch = read_batch(worker.application, position, stop, worker.batch_size, worker.wanted(views))
                if batch is None:
                    break
                with worker.db.statement() as reads:
                    cursor = DeferredWrites(reads)
                    for view in views:
                        view.apply_batch(cursor, worker.items_for(view, batch.items))
                try:
                    self._connection.send((names, position, batch.last_position, batch.last_time, cursor.writes))
                except OSError:
                    log.error("the projection writer process stopped; the worker goes on without it")
                    break
                pending.append(batch.size)
                sent += 1
                position = batch.last_position
                while ok and len(pending) > IN_FLIGHT:
                    ok = confirm()
                if ok and sent % FORGET_EVERY == 0:
                    while ok and pending:
                        ok = confirm()
                    self._forget(views)
            while pending:
                ok = confirm() and ok
        finally:
            self._forget(views)
        return committed

    @staticmethod
    def _forget(views: list[View]) -> None:
        for view in views:
            view.forget()

    def close(self) -> None:
        """Stop the writer after it has committed everything sent."""
        with contextlib.suppress(OSError):
            self._connection.send(None)
        if self._process is not None:
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._connection.close()

