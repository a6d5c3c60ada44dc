"""Committee status: per committee, the facts its alerts are made of (alerts themselves are computed
at query time from these facts and "now", so a rebuild is deterministic and alerts never go stale)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from projections.batch import Rows, Table
from projections.db import Cursor
from projections.views import Item, View, iso
from projections.views.lifecycle import COMPLAINT_STATUS, CORRECTION_STATUS, visited_at
from server.domain.checklist import CHECKLISTS
from server.domain.committee import Committee
from server.domain.complaint import OPEN_STATUSES, Complaint
from server.domain.correction import PENDING_STATUSES, RegistrationCorrection
from server.domain.visit import MonitoringVisit

STATUS = Table("rm_status", {
    "code": "TEXT PRIMARY KEY", "kind": "TEXT NOT NULL", "name": "TEXT NOT NULL", "parent": "TEXT",
    "visits": "INTEGER NOT NULL DEFAULT 0", "last_visit_id": "TEXT", "last_visit_at": "TEXT",
    "checklist_version": "INTEGER", "checklist": "TEXT", "ready_items": "INTEGER", "total_items": "INTEGER",
})
VISITS = Table("rm_status_visits", {
    "id": "TEXT PRIMARY KEY", "committee": "TEXT NOT NULL", "visited_at": "TEXT NOT NULL",
    "checklist_version": "INTEGER NOT NULL",
})
COMPLAINTS = Table("rm_status_complaints", {
    "id": "TEXT PRIMARY KEY", "committee": "TEXT NOT NULL", "category": "TEXT NOT NULL", "is_open": "INTEGER NOT NULL",
})
CORRECTIONS = Table("rm_status_corrections", {
    "id": "TEXT PRIMARY KEY", "committee": "TEXT NOT NULL", "requested_at": "TEXT NOT NULL",
    "is_pending": "INTEGER NOT NULL",
})


def readiness_counts(version: int, answers: dict[str, bool]) -> tuple[int, int]:
    """(items answered yes, items in the checklist); the checklist version decides what counts."""
    keys = _checklist_keys(version)
    if keys is None:
        return sum(1 for value in answers.values() if value), len(answers)
    return sum(1 for key in keys if answers.get(key)), len(keys)


@lru_cache(maxsize=64)  # checklists are fixed data; every visit of a batch asks for the same one or two
def _checklist_keys(version: int) -> tuple[str, ...] | None:
    checklist = CHECKLISTS.get(version)
    return None if checklist is None else checklist.keys()


class _Batch:
    """The four tables' rows one batch touches: loaded in a query each, changed in memory, written once."""

    def __init__(self, cur: Cursor, items: Sequence[Item]) -> None:
        self.status = Rows(STATUS)
        self.visits = Rows(VISITS)
        self.complaints = Rows(COMPLAINTS)
        self.corrections = Rows(CORRECTIONS)
        # (handler, event, record id) for the events this view handles, in log order.
        self.changes: list[tuple[Callable[[_Batch, Any, str], None], Any, str]] = []
        codes: set[str] = set()
        created: set[str] = set()
        lookups: dict[str, list[str]] = {"visits": [], "complaints": [], "corrections": []}
        for _, event in items:
            kind = type(event)
            handler = HANDLERS.get(kind)
            if handler is None:
                continue
            record = str(event.originator_id)
            self.changes.append((handler, event, record))
            if kind in CREATIONS:
                created.add(record)
                codes.add(event.code if kind is Committee.Registered else event.committee)
            elif record not in created:  # a record created earlier in this batch is already here
                lookups[STEPS[kind]].append(record)
        self.visits.load(cur, lookups["visits"])
        self.complaints.load(cur, lookups["complaints"])
        self.corrections.load(cur, lookups["corrections"])
        # An amendment changes the status of its visit's committee: known only once the visit is loaded.
        codes.update(visit["committee"] for visit in map(self.visits.get, lookups["visits"]) if visit is not None)
        self.status.load(cur, codes)

    def apply(self, cur: Cursor) -> None:
        """Every change in log order, then each table written once."""
        for handler, event, record in self.changes:
            handler(self, event, record)
        for rows in (self.status, self.visits, self.complaints, self.corrections):
            rows.flush(cur)

    def registered(self, event: Any, _: str) -> None:
        if self.status.get(event.code) is None:  # the first registration of a code wins
            self.status.put({
                "code": event.code, "kind": event.kind, "name": event.name, "parent": event.parent, "visits": 0,
                "last_visit_id": None, "last_visit_at": None, "checklist_version": None, "checklist": None,
                "ready_items": None, "total_items": None,
            })

    def visit_recorded(self, event: Any, visit_id: str) -> None:
        when = iso(visited_at(event))
        self.visits.put({
            "id": visit_id, "committee": event.committee, "visited_at": when,
            "checklist_version": event.checklist_version,
        })
        row = self.status.get(event.committee)
        if row is None:
            return
        row["visits"] += 1
        # Later in the log wins a tie; an older visit sent late by an offline phone does not replace a newer one.
        if row["last_visit_at"] is None or row["last_visit_at"] <= when:
            ready, total = readiness_counts(event.checklist_version, event.checklist)
            row.update(
                last_visit_id=visit_id, last_visit_at=when, checklist_version=event.checklist_version,
                checklist=_json(event.checklist), ready_items=ready, total_items=total,
            )
        self.status.put(row)

    def visit_amended(self, event: Any, visit_id: str) -> None:
        if event.checklist is None:
            return
        visit = self.visits.get(visit_id)
        row = self.status.get(visit["committee"]) if visit is not None else None
        if visit is None or row is None or row["last_visit_id"] != visit_id:
            return  # only the committee's latest visit shows its checklist
        ready, total = readiness_counts(int(visit["checklist_version"]), event.checklist)
        row.update(checklist=_json(event.checklist), ready_items=ready, total_items=total)
        self.status.put(row)

    def complaint_filed(self, event: Any, complaint_id: str) -> None:
        self.complaints.put(
            {"id": complaint_id, "committee": event.committee, "category": event.category, "is_open": 1}
        )

    def complaint_step(self, event: Any, complaint_id: str) -> None:
        if (row := self.complaints.get(complaint_id)) is not None:
            row["is_open"] = int(COMPLAINT_STATUS[type(event)] in OPEN_STATUSES)
            self.complaints.put(row)

    def correction_requested(self, event: Any, correction_id: str) -> None:
        self.corrections.put({
            "id": correction_id, "committee": event.committee, "requested_at": iso(event.timestamp), "is_pending": 1,
        })

    def correction_step(self, event: Any, correction_id: str) -> None:
        if (row := self.corrections.get(correction_id)) is not None:
            row["is_pending"] = int(CORRECTION_STATUS[type(event)] in PENDING_STATUSES)
            self.corrections.put(row)


CREATIONS = frozenset({
    Committee.Registered, MonitoringVisit.Recorded, Complaint.Filed, RegistrationCorrection.Requested,
})
# Events about an existing record, and the table its row is looked up in.
STEPS: dict[type, str] = {
    MonitoringVisit.Amended: "visits",
    **dict.fromkeys(set(COMPLAINT_STATUS) - CREATIONS, "complaints"),
    **dict.fromkeys(set(CORRECTION_STATUS) - CREATIONS, "corrections"),
}
HANDLERS: dict[type, Callable[[_Batch, Any, str], None]] = {
    Committee.Registered: _Batch.registered,
    MonitoringVisit.Recorded: _Batch.visit_recorded,
    MonitoringVisit.Amended: _Batch.visit_amended,
    Complaint.Filed: _Batch.complaint_filed,
    **dict.fromkeys(set(COMPLAINT_STATUS) - CREATIONS, _Batch.complaint_step),
    RegistrationCorrection.Requested: _Batch.correction_requested,
    **dict.fromkeys(set(CORRECTION_STATUS) - CREATIONS, _Batch.correction_step),
}


class CommitteeStatus(View):
    name = "status"
    tables = ("rm_status", "rm_status_visits", "rm_status_complaints", "rm_status_corrections")
    events = frozenset(HANDLERS)
    indexes = (
        "rm_status_parent ON rm_status (parent)",
        "rm_status_complaints_open ON rm_status_complaints (committee, is_open)",
        "rm_status_corrections_pending ON rm_status_corrections (committee, is_pending)",
    )

    def create_tables(self, cur: Cursor) -> None:
        for table in (STATUS, VISITS, COMPLAINTS, CORRECTIONS):
            table.create(cur)

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        _Batch(cur, items).apply(cur)


# Canonical enough for byte-identical rebuilds: sorted keys, no spaces. One encoder for every call
# (json.dumps builds a new one whenever options are given).
_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
