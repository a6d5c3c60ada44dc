"""The projection worker: reads the log with select_notifications and applies it to every view.

Exactly one worker runs per read-model store. Each batch of each view commits its rows and its
position together, so a crash anywhere neither loses nor double-applies an event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from projections import tracking
from projections.db import Database
from projections.views import View
from projections.views.committees import CommitteeDirectory

log = logging.getLogger(__name__)


def default_views() -> list[View]:
    """Every read model Pantau maintains."""
    return [CommitteeDirectory()]


class Worker:
    """Follows one application's log and keeps its views current."""

    def __init__(self, application: Any, db: Database, views: Sequence[View] | None = None, batch_size: int = 500) -> None:
        self.application = application
        self.db = db
        self.views = list(views if views is not None else default_views())
        self.batch_size = batch_size
        with db.transaction(write=True) as cur:
            cur.execute(tracking.CREATE)
            for view in self.views:
                view.create(cur)

    def positions(self) -> dict[str, int]:
        """Each view's current log position."""
        with self.db.transaction() as cur:
            return {view.name: tracking.position(cur, view.name) for view in self.views}

    def run_once(self) -> int:
        """Apply one batch to every view that is behind; the number of events applied."""
        applied = 0
        for view in self.views:
            applied += self._advance(view)
        return applied

    def catch_up(self) -> int:
        """Apply batches until every view has reached the end of the log."""
        total = 0
        while (applied := self.run_once()) > 0:
            total += applied
        return total

    def _advance(self, view: View) -> int:
        mapper = self.application.mapper
        with self.db.transaction(write=True) as cur:
            start = tracking.position(cur, view.name)
            notifications = self.application.recorder.select_notifications(
                start=start, limit=self.batch_size, inclusive_of_start=False
            )
            for notification in notifications:
                view.apply(cur, notification.id, mapper.to_domain_event(notification))
            if notifications:
                tracking.advance(cur, view.name, notifications[-1].id)
        return len(notifications)

    def run_forever(self, stop: Callable[[], bool] = lambda: False, idle_seconds: float = 0.05) -> None:
        """Poll the log until `stop()` says so; short idle polls keep projection lag low."""
        while not stop():
            if self.run_once() == 0:
                time.sleep(idle_seconds)
