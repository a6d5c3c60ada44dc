"""Committee status: per committee, the facts its alerts are made of (alerts themselves are computed
at query time from these facts and "now", so a rebuild is deterministic and alerts never go stale)."""

from __future__ import annotations

import json
from typing import Any

from projections.db import Cursor
from projections.views import View, iso
from projections.views.lifecycle import COMPLAINT_STATUS, CORRECTION_STATUS, visited_at
from server.domain.checklist import CHECKLISTS
from server.domain.committee import Committee
from server.domain.complaint import OPEN_STATUSES, Complaint
from server.domain.correction import PENDING_STATUSES, RegistrationCorrection
from server.domain.visit import MonitoringVisit


def readiness_counts(version: int, answers: dict[str, bool]) -> tuple[int, int]:
    """(items answered yes, items in the checklist); the checklist version decides what counts."""
    checklist = CHECKLISTS.get(version)
    if checklist is None:
        return sum(1 for value in answers.values() if value), len(answers)
    return sum(1 for key in checklist.keys() if answers.get(key)), len(checklist.items)  # noqa: SIM118


class CommitteeStatus(View):
    name = "status"
    tables = ("rm_status", "rm_status_visits", "rm_status_complaints", "rm_status_corrections")

    def create(self, cur: Cursor) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_status ("
            "code TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, parent TEXT, "
            "visits INTEGER NOT NULL DEFAULT 0, last_visit_id TEXT, last_visit_at TEXT, "
            "checklist_version INTEGER, checklist TEXT, ready_items INTEGER, total_items INTEGER)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS rm_status_parent ON rm_status (parent)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_status_visits ("
            "id TEXT PRIMARY KEY, committee TEXT NOT NULL, visited_at TEXT NOT NULL, "
            "checklist_version INTEGER NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_status_complaints ("
            "id TEXT PRIMARY KEY, committee TEXT NOT NULL, category TEXT NOT NULL, is_open INTEGER NOT NULL)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS rm_status_complaints_open ON rm_status_complaints (committee, is_open)")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_status_corrections ("
            "id TEXT PRIMARY KEY, committee TEXT NOT NULL, requested_at TEXT NOT NULL, is_pending INTEGER NOT NULL)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS rm_status_corrections_pending ON rm_status_corrections (committee, is_pending)"
        )

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        if isinstance(event, Committee.Registered):
            cur.execute(
                "INSERT INTO rm_status (code, kind, name, parent) VALUES (?, ?, ?, ?) ON CONFLICT (code) DO NOTHING",
                (event.code, event.kind, event.name, event.parent),
            )
        elif isinstance(event, MonitoringVisit.Recorded):
            self._visit_recorded(cur, event)
        elif isinstance(event, MonitoringVisit.Amended) and event.checklist is not None:
            self._visit_amended(cur, event)
        elif isinstance(event, Complaint.Filed):
            cur.execute(
                "INSERT INTO rm_status_complaints (id, committee, category, is_open) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (id) DO NOTHING",
                (str(event.originator_id), event.committee, event.category),
            )
        elif type(event) in COMPLAINT_STATUS:
            is_open = int(COMPLAINT_STATUS[type(event)] in OPEN_STATUSES)
            cur.execute(
                "UPDATE rm_status_complaints SET is_open = ? WHERE id = ?", (is_open, str(event.originator_id))
            )
        elif isinstance(event, RegistrationCorrection.Requested):
            cur.execute(
                "INSERT INTO rm_status_corrections (id, committee, requested_at, is_pending) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (id) DO NOTHING",
                (str(event.originator_id), event.committee, iso(event.timestamp)),
            )
        elif type(event) in CORRECTION_STATUS:
            pending = int(CORRECTION_STATUS[type(event)] in PENDING_STATUSES)
            cur.execute(
                "UPDATE rm_status_corrections SET is_pending = ? WHERE id = ?", (pending, str(event.originator_id))
            )

    def _visit_recorded(self, cur: Cursor, event: Any) -> None:
        visit_id, when = str(event.originator_id), iso(visited_at(event))
        cur.execute(
            "INSERT INTO rm_status_visits (id, committee, visited_at, checklist_version) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO NOTHING",
            (visit_id, event.committee, when, event.checklist_version),
        )
        cur.execute("UPDATE rm_status SET visits = visits + 1 WHERE code = ?", (event.committee,))
        ready, total = readiness_counts(event.checklist_version, event.checklist)
        # Later in the log wins a tie; an older visit sent late by an offline phone does not replace a newer one.
        cur.execute(
            "UPDATE rm_status SET last_visit_id = ?, last_visit_at = ?, checklist_version = ?, checklist = ?, "
            "ready_items = ?, total_items = ? WHERE code = ? AND (last_visit_at IS NULL OR last_visit_at <= ?)",
            (visit_id, when, event.checklist_version, _json(event.checklist), ready, total, event.committee, when),
        )

    def _visit_amended(self, cur: Cursor, event: Any) -> None:
        visit_id = str(event.originator_id)
        cur.execute("SELECT committee, checklist_version FROM rm_status_visits WHERE id = ?", (visit_id,))
        row = cur.fetchone()
        if row is None:
            return
        ready, total = readiness_counts(int(row[1]), event.checklist)
        cur.execute(
            "UPDATE rm_status SET checklist = ?, ready_items = ?, total_items = ? WHERE code = ? AND last_visit_id = ?",
            (_json(event.checklist), ready, total, row[0], visit_id),
        )


def _json(value: Any) -> str:
    """Canonical enough for byte-identical rebuilds: sorted keys, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
