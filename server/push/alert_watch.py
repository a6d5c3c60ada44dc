"""Noticing committee alerts so the PPK officers over a committee hear of them.

Alerts are computed from the status read model and "now" (see README, "Read models"), so nothing in
the log says "alert raised". This watcher, run beside the projections in the worker process, looks at
every PPS page by page and raises each alert once per occurrence as a CommitteeAlert.Raised event
(idempotent per key); the push dispatcher's rule turns that event into notifications.

Occurrence keys: a "no visit" alert is keyed by the last visit it is counted from, so it fires once per
gap; an open neutrality complaint and overdue corrections are keyed by the day, a daily reminder while
they last. A PPS never visited at all is shown on the board but not pushed: on the first day of a
campaign that would be every PPS at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from projections.db import Database
from projections.read import AlertRules
from projections.read.status import statuses
from server.push.alerts import notify_alert

log = logging.getLogger(__name__)
PAGE = 500
REASON_TEXT = {
    "no_visit": "Belum dikunjungi lebih dari {days} hari",
    "neutrality_complaint": "Ada pengaduan netralitas yang masih terbuka",
    "correction_waiting": "Perbaikan data pemilih menunggu lebih dari {wait} hari",
}


def occurrence_key(alert: dict[str, Any], status: dict[str, Any], today: str) -> str | None:
    """Which occurrence of an alert this is; None for alerts that are not pushed."""
    reason = alert["reason"]
    if reason == "no_visit":
        return None if status["last_visit_id"] is None else f"no_visit:{status['last_visit_id']}"
    return f"{reason}:{today}"


class AlertWatcher:
    """Raise every current PPS alert that has not been raised for this occurrence yet."""

    def __init__(
        self,
        application: Any,
        db: Database,
        rules: AlertRules,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.application = application
        self.db = db
        self.rules = rules
        self.clock = clock

    def check(self) -> int:
        """One pass over every PPS; the number of alerts newly raised."""
        now = self.clock()
        today = now.date().isoformat()
        raised = 0
        after = ""
        while True:
            with self.db.transaction() as cur:
                page = statuses(cur, "kind = 'PPS' AND code > ?", [after], now, self.rules, limit=PAGE)
            for status in page:
                for alert in status["alerts"]:
                    key = occurrence_key(alert, status, today)
                    if key is None:
                        continue
                    reason = REASON_TEXT[alert["reason"]].format(
                        days=self.rules.no_visit_days, wait=self.rules.correction_wait_days
                    )
                    raised += notify_alert(self.application, status["code"], reason, key)
            if len(page) < PAGE:
                return raised
            after = page[-1]["code"]
