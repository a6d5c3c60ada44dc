"""Complaint queue and correction register: one row per record, as its latest event left it.

The register keeps only the NIK's last 4 digits: the full number stays in the (encryptable) event
store, and the API fetches it from there for the roles allowed to see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.batch import Row, Rows, Table
from projections.db import Cursor
from projections.views import Item, View, iso, parent_of, record_id
from projections.views.lifecycle import COMPLAINT_STATUS, CORRECTION_STATUS
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection

DESCRIPTION_CHARS = 280
COMPLAINTS = Table("rm_complaints", {
    "id": "TEXT PRIMARY KEY", "position": "BIGINT NOT NULL", "committee": "TEXT NOT NULL", "parent": "TEXT",
    "category": "TEXT NOT NULL", "status": "TEXT NOT NULL", "description": "TEXT NOT NULL", "filed_by": "TEXT",
    "filed_at": "TEXT NOT NULL", "escalated_to": "TEXT", "outcome": "TEXT", "version": "INTEGER NOT NULL",
    "updated_at": "TEXT NOT NULL", "updated_by": "TEXT",
})
CORRECTIONS = Table("rm_corrections", {
    "id": "TEXT PRIMARY KEY", "position": "BIGINT NOT NULL", "committee": "TEXT NOT NULL", "parent": "TEXT",
    "kind": "TEXT NOT NULL", "nik_last4": "TEXT NOT NULL", "full_name": "TEXT NOT NULL", "tps": "TEXT",
    "target_tps": "TEXT", "tms_reason": "TEXT", "status": "TEXT NOT NULL", "requested_by": "TEXT",
    "requested_at": "TEXT NOT NULL", "verified_by": "TEXT", "decided_by": "TEXT", "decision_reason": "TEXT",
    "version": "INTEGER NOT NULL", "updated_at": "TEXT NOT NULL",
})
COMPLAINT_COLUMNS = COMPLAINTS.columns
CORRECTION_COLUMNS = CORRECTIONS.columns


def _changes(cur: Cursor, rows: Rows, items: Sequence[Item], created: type, steps: dict[type, str]
             ) -> list[tuple[int, Any, str]]:
    """Load the rows this batch changes (those created before it and not remembered, in one query);
    the batch's events about them as (position, event, record id)."""
    new: set[str] = set()
    earlier: list[str] = []
    relevant: list[tuple[int, Any, str]] = []
    for position, event in items:
        kind = type(event)
        if kind in steps:
            record = record_id(event.originator_id)
            relevant.append((position, event, record))
            if kind is created:
                new.add(record)
            elif record not in new:
                earlier.append(record)
    rows.load(cur, earlier)
    return relevant


class ComplaintQueue(View):
    name = "complaints"
    tables = ("rm_complaints",)
    events = frozenset(COMPLAINT_STATUS)
    # The queue in log order (unfiltered pages), then one index per filter, each ending in position.
    indexes = (
        "rm_complaints_position ON rm_complaints (position)",
        *(f"rm_complaints_{c} ON rm_complaints ({c}, position)" for c in ("committee", "parent", "status")),
        # A committee status counts its open complaints by category from this index alone.
        "rm_complaints_open ON rm_complaints (committee, status, category)",
    )

    def __init__(self) -> None:
        self._rows = Rows(COMPLAINTS)

    def create_tables(self, cur: Cursor) -> None:
        COMPLAINTS.create(cur)

    def forget(self) -> None:
        self._rows.forget()

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        rows = self._rows
        changes = _changes(cur, rows, items, Complaint.Filed, COMPLAINT_STATUS)
        for position, event, record in changes:
            if type(event) is Complaint.Filed:
                rows.put(self._filed(position, event, record))
            elif (row := rows.get(record)) is not None:  # a step for a complaint never filed changes nothing
                self._step(row, COMPLAINT_STATUS[type(event)], event)
                rows.put(row)
        rows.flush(cur)

    @staticmethod
    def _filed(position: int, event: Any, record: str) -> Row:
        actor, at = (event.context or {}).get("actor"), iso(event.timestamp)
        return {
            "id": record, "position": position, "committee": event.committee,
            "parent": parent_of(event.committee), "category": event.category, "status": "filed",
            "description": event.description[:DESCRIPTION_CHARS], "filed_by": actor, "filed_at": at,
            "escalated_to": None, "outcome": None, "version": event.originator_version, "updated_at": at,
            "updated_by": actor,
        }

    @staticmethod
    def _step(row: Row, status: str, event: Any) -> None:
        target = getattr(event, "target", None)
        row["status"] = status
        if target is not None:  # the escalation target stays after later steps
            row["escalated_to"] = target
        # Resolved and dismissed carry the outcome; a reopening clears it.
        row["outcome"] = getattr(event, "reason", None) if status in ("resolved", "dismissed") else None
        row["version"] = event.originator_version
        row["updated_at"] = iso(event.timestamp)
        row["updated_by"] = (event.context or {}).get("actor")


class CorrectionRegister(View):
    name = "corrections"
    tables = ("rm_corrections",)
    events = frozenset(CORRECTION_STATUS)
    indexes = (
        "rm_corrections_position ON rm_corrections (position)",
        *(f"rm_corrections_{c} ON rm_corrections ({c}, position)" for c in ("committee", "parent", "status")),
        # A committee status counts its pending corrections, and finds the oldest, from this index alone.
        "rm_corrections_pending ON rm_corrections (committee, status, requested_at)",
    )

    def __init__(self) -> None:
        self._rows = Rows(CORRECTIONS)

    def create_tables(self, cur: Cursor) -> None:
        CORRECTIONS.create(cur)

    def forget(self) -> None:
        self._rows.forget()

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        rows = self._rows
        changes = _changes(cur, rows, items, RegistrationCorrection.Requested, CORRECTION_STATUS)
        for position, event, record in changes:
            if type(event) is RegistrationCorrection.Requested:
                rows.put(self._requested(position, event, record))
            elif (row := rows.get(record)) is not None:
                self._step(row, CORRECTION_STATUS[type(event)], event)
                rows.put(row)
        rows.flush(cur)

    @staticmethod
    def _requested(position: int, event: Any, record: str) -> Row:
        at = iso(event.timestamp)
        return {
            "id": record, "position": position, "committee": event.committee,
            "parent": parent_of(event.committee), "kind": event.kind, "nik_last4": event.nik[-4:],
            "full_name": event.full_name, "tps": event.tps, "target_tps": event.target_tps,
            "tms_reason": event.tms_reason, "status": "requested", "requested_by": (event.context or {}).get("actor"),
            "requested_at": at, "verified_by": None, "decided_by": None, "decision_reason": None,
            "version": event.originator_version, "updated_at": at,
        }

    @staticmethod
    def _step(row: Row, status: str, event: Any) -> None:
        actor = (event.context or {}).get("actor")
        row["status"] = status
        if status == "verified":
            row["verified_by"] = actor
        else:
            row["decided_by"] = actor
            row["decision_reason"] = event.reason
        row["version"] = event.originator_version
        row["updated_at"] = iso(event.timestamp)
