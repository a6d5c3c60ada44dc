"""Complaint queue and correction register: one row per record, as its latest event left it.

The register keeps only the NIK's last 4 digits: the full number stays in the (encryptable) event
store, and the API fetches it from there for the roles allowed to see it.
"""

from __future__ import annotations

from typing import Any

from projections.db import Cursor
from projections.views import View, iso
from projections.views.lifecycle import COMPLAINT_STATUS, CORRECTION_STATUS
from server.domain.committee import parent_code
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection

DESCRIPTION_CHARS = 280


class ComplaintQueue(View):
    name = "complaints"
    tables = ("rm_complaints",)

    def create(self, cur: Cursor) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_complaints ("
            "id TEXT PRIMARY KEY, position BIGINT NOT NULL UNIQUE, committee TEXT NOT NULL, parent TEXT, "
            "category TEXT NOT NULL, status TEXT NOT NULL, description TEXT NOT NULL, filed_by TEXT, "
            "filed_at TEXT NOT NULL, escalated_to TEXT, outcome TEXT, version INTEGER NOT NULL, "
            "updated_at TEXT NOT NULL, updated_by TEXT)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS rm_complaints_committee ON rm_complaints (committee, position)")
        cur.execute("CREATE INDEX IF NOT EXISTS rm_complaints_parent ON rm_complaints (parent, position)")
        cur.execute("CREATE INDEX IF NOT EXISTS rm_complaints_status ON rm_complaints (status, position)")

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        actor = (event.context or {}).get("actor")
        if isinstance(event, Complaint.Filed):
            cur.execute(
                "INSERT INTO rm_complaints (id, position, committee, parent, category, status, description, "
                "filed_by, filed_at, version, updated_at, updated_by) "
                "VALUES (?, ?, ?, ?, ?, 'filed', ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (
                    str(event.originator_id), position, event.committee, parent_code(event.committee), event.category,
                    event.description[:DESCRIPTION_CHARS], actor, iso(event.timestamp), event.originator_version,
                    iso(event.timestamp), actor,
                ),
            )
            return
        status = COMPLAINT_STATUS.get(type(event))
        if status is None:
            return
        escalated_to = getattr(event, "target", None)
        # Resolved and dismissed carry the outcome; a reopening clears it.
        outcome = getattr(event, "reason", None) if status in ("resolved", "dismissed") else None
        cur.execute(
            "UPDATE rm_complaints SET status = ?, escalated_to = COALESCE(?, escalated_to), outcome = ?, "
            "version = ?, updated_at = ?, updated_by = ? WHERE id = ?",
            (status, escalated_to, outcome, event.originator_version, iso(event.timestamp), actor,
             str(event.originator_id)),
        )


class CorrectionRegister(View):
    name = "corrections"
    tables = ("rm_corrections",)

    def create(self, cur: Cursor) -> None:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS rm_corrections ("
            "id TEXT PRIMARY KEY, position BIGINT NOT NULL UNIQUE, committee TEXT NOT NULL, parent TEXT, "
            "kind TEXT NOT NULL, nik_last4 TEXT NOT NULL, full_name TEXT NOT NULL, tps TEXT, target_tps TEXT, "
            "tms_reason TEXT, status TEXT NOT NULL, requested_by TEXT, requested_at TEXT NOT NULL, "
            "verified_by TEXT, decided_by TEXT, decision_reason TEXT, version INTEGER NOT NULL, "
            "updated_at TEXT NOT NULL)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS rm_corrections_committee ON rm_corrections (committee, position)")
        cur.execute("CREATE INDEX IF NOT EXISTS rm_corrections_parent ON rm_corrections (parent, position)")
        cur.execute("CREATE INDEX IF NOT EXISTS rm_corrections_status ON rm_corrections (status, position)")

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        actor = (event.context or {}).get("actor")
        if isinstance(event, RegistrationCorrection.Requested):
            cur.execute(
                "INSERT INTO rm_corrections (id, position, committee, parent, kind, nik_last4, full_name, tps, "
                "target_tps, tms_reason, status, requested_by, requested_at, version, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    str(event.originator_id), position, event.committee, parent_code(event.committee), event.kind,
                    event.nik[-4:], event.full_name, event.tps, event.target_tps, event.tms_reason, actor,
                    iso(event.timestamp), event.originator_version, iso(event.timestamp),
                ),
            )
            return
        status = CORRECTION_STATUS.get(type(event))
        if status is None:
            return
        if status == "verified":
            cur.execute(
                "UPDATE rm_corrections SET status = ?, verified_by = ?, version = ?, updated_at = ? WHERE id = ?",
                (status, actor, event.originator_version, iso(event.timestamp), str(event.originator_id)),
            )
        else:
            cur.execute(
                "UPDATE rm_corrections SET status = ?, decided_by = ?, decision_reason = ?, version = ?, "
                "updated_at = ? WHERE id = ?",
                (status, actor, event.reason, event.originator_version, iso(event.timestamp),
                 str(event.originator_id)),
            )
