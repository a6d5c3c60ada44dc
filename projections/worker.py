"""The projection worker: reads the log with select_notifications and applies it to every view.

Views at the same position form a group: each batch of notifications is read and decoded once and
applied to every view in the group, with their positions, in one transaction. A crash anywhere
neither loses nor double-applies an event. A view that is behind (after a rebuild) catches up alone
until it reaches the others, then joins their group.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from projections import tracking
from projections.collector import fewer_collections
from projections.commit import commit_batch
from projections.db import MEMORY, Database
from projections.pipeline import Pipeline
from projections.reader import read_batch
from projections.views import Item, View
from projections.views.audit import AuditTrail
from projections.views.committees import CommitteeDirectory
from projections.views.queues import ComplaintQueue, CorrectionRegister
from projections.views.status import CommitteeStatus

log = logging.getLogger(__name__)
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
SCHEMA_ATTEMPTS = 5
PIPELINE_MIN_BATCHES = 8  # a catch-up at least this many batches long uses the writer process

STATUS_CREATE = (
    "CREATE TABLE IF NOT EXISTS rm_worker_status ("
    "id INTEGER PRIMARY KEY, last_position BIGINT NOT NULL, last_lag_ms BIGINT NOT NULL, updated_at TEXT NOT NULL)"
)


def default_views() -> list[View]:
    """Every read model Pantau maintains."""
    return [CommitteeDirectory(), CommitteeStatus(), ComplaintQueue(), CorrectionRegister(), AuditTrail()]


def status_views() -> list[View]:
    """The views a committee's status is read from (projections.read.status.VIEWS), e.g. to replay them."""
    return [CommitteeStatus(), ComplaintQueue(), CorrectionRegister()]


def create_schema(db: Database, views: Sequence[View]) -> None:
    """Tables for the tracking rows, the worker's health and every view (idempotent).

    Processes starting together on an empty PostgreSQL database run these same statements at once, and
    PostgreSQL may pick one as the victim of a deadlock (a CREATE INDEX against another's INSERT into
    rm_tracking); every statement is idempotent, so the victim simply runs them again.
    """
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            with db.transaction(write=True) as cur:
                cur.execute(tracking.CREATE)
                cur.execute(STATUS_CREATE)
                for view in views:
                    view.create(cur)
                tracking.ensure(cur, [view.name for view in views])
            return
        except (psycopg.Error, sqlite3.Error):
            if attempt == SCHEMA_ATTEMPTS:
                raise
            log.info("read-model schema creation lost a race with another process; trying again")
            time.sleep(RETRY_FIRST_SECONDS * attempt)


class Worker:
    """Follows one application's log and keeps its views current."""

    def __init__(
        self, application: Any, db: Database, views: Sequence[View] | None = None, batch_size: int = 500
    ) -> None:
        self.application = application
        self.db = db
        self.views = list(views if views is not None else default_views())
        self.batch_size = batch_size
        create_schema(db, self.views)

    def view(self, name: str) -> View:
        """The view called `name`, or KeyError."""
        for view in self.views:
            if view.name == name:
                return view
        raise KeyError(name)

    def positions(self) -> dict[str, int]:
        """Each view's current log position."""
        with self.db.transaction() as cur:
            stored = tracking.positions(cur)
        return {view.name: stored.get(view.name, 0) for view in self.views}

    def run_once(self) -> int:
        """Apply one batch to the views furthest behind; the number of events applied."""
        return self._advance(*self._furthest_behind())

    def _furthest_behind(self) -> tuple[list[View], int, int | None]:
        """The views at the lowest position, that position, and where the next group stands (None if
        they are the only group): they stop there, so the laggards land exactly on it and merge."""
        groups: dict[int, list[View]] = {}
        positions = self.positions()
        for view in self.views:
            groups.setdefault(positions[view.name], []).append(view)
        ordered = sorted(groups)
        start = ordered[0]
        return groups[start], start, ordered[1] if len(ordered) > 1 else None

    def catch_up(self, progress: Callable[[int], None] | None = None, stop: Callable[[], bool] = lambda: False,
                 pipeline: Pipeline | None = None) -> int:
        """Apply batches until every view has reached the end of the log.

        Far behind (a rebuild, a restart after downtime), a writer process commits batches while this
        one projects the next (projections/pipeline.py); until it has started, and for the last few
        batches, the worker goes on alone. `stop()` ends it early (between batches). `pipeline`: a
        writer started earlier (closed here)."""
        total = 0
        if pipeline is None and self.pipeline_worthwhile():
            pipeline = Pipeline(self.db)
        try:
            with fewer_collections():
                while not stop():
                    views, start, until = self._furthest_behind()
                    if pipeline is not None and pipeline.ready():
                        applied = pipeline.run(self, views, start, until, progress, stop)
                        pipeline.close()
                        pipeline = None
                        total += applied
                        continue
                    applied = self._advance(views, start, until)
                    if applied == 0 and min(self.positions().values(), default=0) >= self.log_end():
                        return total
                    total += applied
                    if progress is not None and applied:
                        progress(applied)
        finally:
            if pipeline is not None:
                pipeline.close()
        return total

    def pipeline_worthwhile(self, behind: int | None = None) -> bool:
        """Whether catching up `behind` events (default: as far as the views are behind) is worth a
        writer process: its start (a fresh interpreter) pays off only over many batches, and an
        in-memory database (time travel) cannot be shared with another process."""
        if self.db.sqlite_path is not None and str(self.db.sqlite_path) == MEMORY:
            return False
        if behind is None:
            behind = self.log_end() - min(self.positions().values(), default=0)
        return behind >= PIPELINE_MIN_BATCHES * self.batch_size

    def log_end(self) -> int:
        """The last position in the log (0 when empty)."""
        return self.application.recorder.max_notification_id() or 0

    @staticmethod
    def wanted(views: Sequence[View]) -> frozenset[type] | None:
        """The event classes a group of views listens to; None if one of them wants every event."""
        events: set[type] = set()
        for view in views:
            if view.events is None:
                return None
            events |= view.events
        return frozenset(events)

    @staticmethod
    def items_for(view: View, items: list[Item]) -> list[Item]:
        """The batch's events this view listens to."""
        return items if view.events is None else [i for i in items if type(i[1]) in view.events]

    def _advance(self, views: list[View], start: int, stop: int | None) -> int:
        batch = read_batch(self.application, start, stop, self.batch_size, self.wanted(views))
        if batch is None:
            return 0

        def apply(cur: Any) -> None:
            for view in views:
                view.forget()  # read inside this transaction, after the lock: nothing remembered is trusted
                view.apply_batch(cur, self.items_for(view, batch.items))

        committed = commit_batch(self.db, [view.name for view in views], start, batch.last_position,
                                 batch.last_time, apply)
        # Not committed: another worker or a rebuild moved these views meanwhile; the caller looks again.
        return batch.size if committed else 0

    def run_forever(self, stop: Callable[[], bool] = lambda: False, idle_seconds: float = 0.05) -> None:
        """Poll the log until `stop()` says so; short idle polls keep projection lag low.

        A failed batch was rolled back whole (rows and positions together), so it is simply tried again
        after a pause: PostgreSQL may pick the worker as a deadlock victim when a web process creates the
        read-model schema at start-up, and a store may be briefly unreachable. Dying would stop every view.
        """
        pause = RETRY_FIRST_SECONDS
        while not stop():
            try:
                applied = self.catch_up(stop=stop) if self.pipeline_worthwhile() else self.run_once()
            except Exception:
                log.exception("projection batch failed and was rolled back; retrying in %.1fs", pause)
                time.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)
                continue
            pause = RETRY_FIRST_SECONDS
            if applied == 0:
                time.sleep(idle_seconds)
