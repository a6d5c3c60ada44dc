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
from datetime import UTC, datetime
from typing import Any

import psycopg

from projections import tracking
from projections.db import Database
from projections.reader import read_batch
from projections.views import View
from projections.views.audit import AuditTrail
from projections.views.committees import CommitteeDirectory
from projections.views.queues import ComplaintQueue, CorrectionRegister
from projections.views.status import CommitteeStatus

log = logging.getLogger(__name__)
RETRY_FIRST_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
SCHEMA_ATTEMPTS = 5

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
        groups: dict[int, list[View]] = {}
        positions = self.positions()
        for view in self.views:
            groups.setdefault(positions[view.name], []).append(view)
        ordered = sorted(groups)
        start = ordered[0]
        # Stop where the next group stands, so the laggards land exactly on it and merge.
        stop = ordered[1] if len(ordered) > 1 else None
        return self._advance(groups[start], start, stop)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply batches until every view has reached the end of the log."""
        total = 0
        while True:
            applied = self.run_once()
            if applied == 0 and min(self.positions().values(), default=0) >= self.log_end():
                return total
            total += applied
            if progress is not None and applied:
                progress(applied)

    def log_end(self) -> int:
        """The last position in the log (0 when empty)."""
        return self.application.recorder.max_notification_id() or 0

    def _advance(self, views: list[View], start: int, stop: int | None) -> int:
        batch = read_batch(self.application, start, stop, self.batch_size, _wanted(views))
        if batch is None:
            return 0
        names = [view.name for view in views]
        with self.db.transaction(write=True) as cur:
            if self.db.is_postgres:
                # Without waiting for the WAL flush: a server crash may lose the last batches, rows and
                # positions together (same transaction), so the worker simply applies them again. Nothing
                # is ever half-applied or applied twice. Only here: the ledger and the push outbox commit durably.
                cur.execute("SET LOCAL synchronous_commit = off")
            tracking.lock(cur, names)
            current = tracking.positions(cur)
            if any(current.get(name, 0) != start for name in names):
                # Another worker or a rebuild moved these views meanwhile: nothing applied, look again.
                return 0
            for view in views:
                items = batch.items if view.events is None else [i for i in batch.items if type(i[1]) in view.events]
                view.apply_batch(cur, items)
            tracking.advance_all(cur, names, batch.last_position)
            record_lag(cur, batch.last_position, batch.last_time)
        return batch.size

    def run_forever(self, stop: Callable[[], bool] = lambda: False, idle_seconds: float = 0.05) -> None:
        """Poll the log until `stop()` says so; short idle polls keep projection lag low.

        A failed batch was rolled back whole (rows and positions together), so it is simply tried again
        after a pause: PostgreSQL may pick the worker as a deadlock victim when a web process creates the
        read-model schema at start-up, and a store may be briefly unreachable. Dying would stop every view.
        """
        pause = RETRY_FIRST_SECONDS
        while not stop():
            try:
                applied = self.run_once()
            except Exception:
                log.exception("projection batch failed and was rolled back; retrying in %.1fs", pause)
                time.sleep(pause)
                pause = min(pause * 2, RETRY_MAX_SECONDS)
                continue
            pause = RETRY_FIRST_SECONDS
            if applied == 0:
                time.sleep(idle_seconds)


def _wanted(views: Sequence[View]) -> frozenset[type] | None:
    """The event classes a group of views listens to; None if one of them wants every event."""
    wanted: set[type] = set()
    for view in views:
        if view.events is None:
            return None
        wanted |= view.events
    return frozenset(wanted)


def record_lag(cur: Any, position: int, event_time: datetime) -> None:
    """How long the newest applied event took from being saved to being visible in the read models."""
    now = datetime.now(UTC)
    lag_ms = max(0, int((now - event_time).total_seconds() * 1000))
    cur.execute(
        "INSERT INTO rm_worker_status (id, last_position, last_lag_ms, updated_at) VALUES (1, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_position = excluded.last_position, "
        "last_lag_ms = excluded.last_lag_ms, updated_at = excluded.updated_at",
        (position, lag_ms, now.isoformat()),
    )
