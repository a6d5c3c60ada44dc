"""How concurrent saves reach the event store: writers take turns, and a process's queued saves
commit together. Storage-agnostic: the recorders in server/persistence.py say what one write is."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)


class WriterQueue:
    """One writer at a time across every process on one SQLite file, waiting in the kernel; and the
    concurrent saves of one process committed together (SQLite and PostgreSQL).

    SQLite's own busy handler polls: a writer that finds the file locked sleeps 1, 2, 5 ... 100 ms and
    tries again, so under 32 concurrent submissions through several gunicorn workers most of the
    tail latency was sleeping while the lock was already free. An flock on a file beside the database
    wakes the next writer the moment the last one commits. (Threads of one process queue on a
    threading lock first: an flock belongs to the process's open file, not to a thread.)

    Group commit: with the lock that busy, the commit's fsync is the scarce thing. A thread that gets
    the turn writes every save its process's other threads have queued meanwhile in one transaction
    (one fsync); they find their answers ready. If that transaction fails (one save's id already
    exists: an idempotent replay), each save is written alone and gets its own answer.

    SQLite's own locking still guards the file; this only orders who asks for it. Without a lock file
    (an in-memory database; PostgreSQL, which locks its table itself) only the threads of one process
    queue, and group commit works the same.
    """

    def __init__(self, lock_file: str | None) -> None:
        self._path = lock_file
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._queued: list[_Save] = []
        self._queued_lock = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """This thread's turn to write, alone."""
        with self._threads, self._file():
            yield

    def together(self, item: Any, write_all: Callable[[list[Any]], list[Any]], write_one: Callable[[Any], Any]) -> Any:
        """`write_one(item)`'s answer, though it may have been written by `write_all` with others' items."""
        save = _Save(item)
        with self._queued_lock:
            self._queued.append(save)
        with self._threads:
            if not save.done:  # else a thread that had the turn before us answered ours too
                with self._file():
                    # Taken once the file is ours: everything queued while another process wrote goes too.
                    with self._queued_lock:
                        group, self._queued = self._queued, []
                    if save not in group:  # taken by a turn that was interrupted before answering it
                        group.append(save)
                    _write(group, write_all, write_one)
        if save.error is not None:
            raise save.error
        return save.result

    @contextmanager
    def _file(self) -> Iterator[None]:
        if self._path is None:
            yield
            return
        if self._fd is None:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _written_together(group: list[_Save], write_all: Callable[[list[Any]], list[Any]]) -> bool:
    """True if one transaction took every save; False if it was rolled back (the caller writes them one by one)."""
    try:
        results = write_all([save.item for save in group])
    except Exception:  # rolled back whole; each save then gets its own outcome alone
        log.debug("group of %d saves rolled back; writing them one by one", len(group))
        return False
    for save, result in zip(group, results, strict=True):
        save.answer(result)
    return True


class _Save:
    """One thread's save: done once it has its answer (a result, or the error to raise in its thread).
    A save left undone (its turn interrupted by KeyboardInterrupt or SystemExit) is written by its own
    thread at its next turn; written twice at worst, which the store refuses as a duplicate id."""

    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.result: Any = None
        self.error: Exception | None = None
        self.done = False

    def answer(self, result: Any) -> None:
        self.result, self.done = result, True

    def fail(self, error: Exception) -> None:
        self.error, self.done = error, True


def _write(group: list[_Save], write_all: Callable[[list[Any]], list[Any]], write_one: Callable[[Any], Any]) -> None:
    if len(group) > 1 and _written_together(group, write_all):
        return
    for save in group:
        try:
            save.answer(write_one(save.item))
        except Exception as error:  # handed to the thread whose save it was
            save.fail(error)
