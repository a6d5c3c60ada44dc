"""Time travel: replay the log up to a moment into a throwaway in-memory SQLite, with the same View
code the worker runs, and answer from it with the same queries.

"As of a time" means the longest prefix of the log whose events were all stamped at or before that
time; "as of a position" means the log up to that position, judged at that event's own time.
When the audit view has already passed the cut, it names the records of one committee, so only
their events are decoded and applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from projections import tracking
from projections.db import Database
from projections.views import View, iso, parse_iso
from projections.worker import create_schema

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 1000


@dataclass(frozen=True)
class Snapshot:
    """A replayed read-model store, the log position it stands at, and the moment it represents."""

    db: Database
    position: int
    at: datetime

    def close(self) -> None:
        self.db.close()


def _audit_cut(db: Database, when: datetime, log_end: int) -> int | None:
    """The cut for a time from the audit view, or None if the view has not got far enough to say."""
    with db.transaction() as cur:
        audit_at = tracking.position(cur, "audit")
        cur.execute("SELECT MIN(position) FROM rm_audit WHERE recorded_at > ?", (iso(when),))
        first_after = cur.fetchone()[0]
    if first_after is not None:
        return int(first_after) - 1
    return audit_at if audit_at >= log_end else None


def _committee_aggregates(db: Database, committee: str, cut: int) -> tuple[set[UUID], datetime | None] | None:
    """Ids of every aggregate about a committee (and what is under it) up to the cut, and the cut's time."""
    with db.transaction() as cur:
        if tracking.position(cur, "audit") < cut:
            return None
        cur.execute(
            "SELECT DISTINCT aggregate_id FROM rm_audit "
            "WHERE position <= ? AND (committee = ? OR committee_parent = ?)",
            (cut, committee, committee),
        )
        ids = {UUID(row[0]) for row in cur.fetchall()}
        cur.execute("SELECT recorded_at FROM rm_audit WHERE position <= ? ORDER BY position DESC LIMIT 1", (cut,))
        row = cur.fetchone()
    return ids, (parse_iso(row[0]) if row else None)


def replay(
    application: Any,
    views: Sequence[View],
    until: int,
    only: set[UUID] | None = None,
    until_time: datetime | None = None,
    target: Database | None = None,
) -> tuple[Database, int, datetime | None]:
    """Apply the log up to `until` (and, if given, up to the first event after `until_time`) to fresh views.

    Returns the store, the last position read and the time of the last event applied.
    """
    db = target or Database.in_memory()
    create_schema(db, views)
    recorder, mapper = application.recorder, application.mapper
    start, last_time = 0, None
    while start < until:
        notifications = recorder.select_notifications(start=start, limit=BATCH, stop=until, inclusive_of_start=False)
        if not notifications:
            break
        items = []
        for notification in notifications:
            if only is not None and notification.originator_id not in only:
                start = notification.id
                continue
            event = mapper.to_domain_event(notification)
            if until_time is not None and event.timestamp > until_time:
                until = start  # the prefix ends here
                break
            items.append((notification.id, event))
            start = notification.id
        if items:
            with db.transaction(write=True) as cur:
                for view in views:
                    view.apply_batch(cur, items)
            last_time = items[-1][1].timestamp
    return db, start, last_time


def as_of(application: Any, db: Database, views: Sequence[View], when: int | datetime,
          committee: str | None = None) -> Snapshot:
    """The read models as they stood at a log position or a time (see the module docstring)."""
    log_end = application.recorder.max_notification_id() or 0
    if isinstance(when, datetime):
        cut = _audit_cut(db, when, log_end)
        moment: datetime | None = when
    else:
        cut = max(0, min(when, log_end))
        moment = None
    only = None
    if cut is not None and committee is not None:
        found = _committee_aggregates(db, committee, cut)
        if found is not None:
            only, cut_time = found
            moment = moment or cut_time
    until_time = when if isinstance(when, datetime) and cut is None else None
    store, position, last_time = replay(application, views, cut if cut is not None else log_end, only, until_time)
    return Snapshot(store, cut if cut is not None else position, moment or last_time or EPOCH)
