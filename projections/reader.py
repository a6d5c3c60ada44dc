"""Reading the log for the worker: each notification selected and decoded once, the next batch read ahead.

While the worker writes one batch, the database does most of the work (SQLite's statements and commit
run with the GIL released; PostgreSQL's run in the server), so the next batch is selected and decoded
in a helper thread meanwhile. Reading ahead only reads: the log is append-only, a read batch never
goes stale, and what gets applied and tracked is still decided in the worker's transaction.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.utils import resolve_topic

from projections.views import Item

# (start, stop, limit, the event classes wanted or None for every event): what a read is.
Key = tuple[int, int | None, int, frozenset[type] | None]


@dataclass(frozen=True)
class Batch:
    """Notifications after a position: the decoded events wanted, and where and when the batch ends."""

    items: list[Item]
    size: int  # notifications read, wanted or not
    last_position: int
    last_time: datetime  # the last notification's time, for the worker's lag figure


class LogReader:
    """`read` answers a batch; when the batch was full it starts reading the one after it."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self._executor: ThreadPoolExecutor | None = None
        self._ahead: tuple[Key, Future[Batch | None]] | None = None

    def read(self, start: int, stop: int | None, limit: int, wanted: frozenset[type] | None) -> Batch | None:
        """Notifications after `start` (up to `stop`, at most `limit`), None at the end of the log."""
        key: Key = (start, stop, limit, wanted)
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == key:
            batch = ahead[1].result()
        else:
            if ahead is not None and not ahead[1].cancel():
                _wait(ahead[1])  # a read for another start or group: not needed any more
            batch = self._read(key)
        if batch is not None and batch.size == limit:
            # A full batch: the log probably goes on, so read on while the caller writes this one.
            following: Key = (batch.last_position, stop, limit, wanted)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="projections-read-ahead")
            self._ahead = (following, self._executor.submit(self._read, following))
        return batch

    def settle(self) -> None:
        """Let a read in flight finish and stop the helper thread (before the application is closed)."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            _wait(ahead[1])
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _read(self, key: Key) -> Batch | None:
        start, stop, limit, wanted = key
        recorder, mapper = self.application.recorder, self.application.mapper
        notifications = recorder.select_notifications(start=start, limit=limit, stop=stop, inclusive_of_start=False)
        if not notifications:
            return None
        if wanted is None:
            items = [(n.id, mapper.to_domain_event(n)) for n in notifications]
        else:
            # A notification no view listens to is judged by its topic and never decoded.
            items = [(n.id, mapper.to_domain_event(n)) for n in notifications if resolve_topic(n.topic) in wanted]
        last = notifications[-1]
        last_event = items[-1][1] if items and items[-1][0] == last.id else mapper.to_domain_event(last)
        return Batch(items, len(notifications), last.id, last_event.timestamp)


def _wait(future: Future[Batch | None]) -> None:
    """Wait for a read nobody will use; its error, if any, is the next synchronous read's to report."""
    future.exception()
