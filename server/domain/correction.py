"""Voter registration corrections: requested -> verified (PPS) -> approved | rejected (PPK/KPU), four eyes."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate
from server.domain.errors import InvalidInputError, PermissionDeniedError

KINDS = ("add_to_dptb", "move_tps", "fix_personal_data", "mark_tms", "reinstate")
# TMS (tidak memenuhi syarat): why a voter is no longer eligible.
TMS_REASONS = ("deceased", "moved", "under_age", "tni_polri")
# ASCII digits, whole string: \d would take other scripts' digits and $ a trailing newline.
NIK_PATTERN = re.compile(r"[0-9]{16}")
PENDING_STATUSES = ("requested", "verified")


def check_nik(nik: str) -> None:
    """A NIK is exactly 16 digits; the message never echoes it."""
    if not isinstance(nik, str) or not NIK_PATTERN.fullmatch(nik):
        raise InvalidInputError("NIK must be exactly 16 digits.", "nik")


def mask_nik(nik: str) -> str:
    """Only the last 4 digits, for everyone who does not need the whole number."""
    return "*" * 12 + nik[-4:]


class RegistrationCorrection(PantauAggregate):
    """A request to change one voter's registration, and its decision."""

    class Requested(PantauAggregate.Created):
        committee: str
        kind: str
        nik: str
        full_name: str
        tps: str | None
        target_tps: str | None
        tms_reason: str | None
        details: str
        fingerprint: str

    @event(Requested)
    def __init__(
        self,
        id: UUID,
        committee: str,
        kind: str,
        nik: str,
        full_name: str,
        tps: str | None,
        target_tps: str | None,
        tms_reason: str | None,
        details: str,
        fingerprint: str,
        context: dict[str, Any],
    ) -> None:
        self.committee = committee
        self.kind = kind
        self.nik = nik
        self.full_name = full_name
        self.tps = tps
        self.target_tps = target_tps
        self.tms_reason = tms_reason
        self.details = details
        self.fingerprint = fingerprint
        self.requested_by = context["actor"]
        self.verified_by: str | None = None
        self.decided_by: str | None = None
        self.decision_reason: str | None = None
        self.status = "requested"

    @staticmethod
    def check_request(kind: str, nik: str, target_tps: str | None, tms_reason: str | None) -> None:
        """Rules for a new request, checked before any event exists."""
        if kind not in KINDS:
            raise InvalidInputError(f"Unknown correction kind '{kind}'.", "kind")
        check_nik(nik)
        if kind == "mark_tms" and tms_reason not in TMS_REASONS:
            raise InvalidInputError(f"Marking TMS needs a reason: one of {', '.join(TMS_REASONS)}.", "tms_reason")
        if kind != "mark_tms" and tms_reason is not None:
            raise InvalidInputError("A TMS reason only belongs to a mark_tms correction.", "tms_reason")
        if kind in ("add_to_dptb", "move_tps") and not target_tps:
            raise InvalidInputError(f"A {kind} correction needs the target TPS.", "target_tps")

    class Verified(PantauAggregate.Event):
        note: str

    def verify(self, note: str, context: dict[str, Any]) -> None:
        self.check_status("verify", ("requested",))
        self._verify(note=note, context=context)

    @event(Verified)
    def _verify(self, note: str, context: dict[str, Any]) -> None:
        self.status = "verified"
        self.verified_by = context["actor"]

    class Approved(PantauAggregate.Event):
        reason: str

    def approve(self, reason: str, context: dict[str, Any]) -> None:
        self.check_four_eyes(context)
        self.check_status("approve", ("verified",))
        self._approve(reason=reason, context=context)

    @event(Approved)
    def _approve(self, reason: str, context: dict[str, Any]) -> None:
        self.status = "approved"
        self.decided_by = context["actor"]
        self.decision_reason = reason

    class Rejected(PantauAggregate.Event):
        reason: str

    def reject(self, reason: str, context: dict[str, Any]) -> None:
        self.check_four_eyes(context)
        self.check_status("reject", PENDING_STATUSES)
        if not reason.strip():
            raise InvalidInputError("A rejection needs a reason.", "reason")
        self._reject(reason=reason, context=context)

    @event(Rejected)
    def _reject(self, reason: str, context: dict[str, Any]) -> None:
        self.status = "rejected"
        self.decided_by = context["actor"]
        self.decision_reason = reason

    def check_four_eyes(self, context: dict[str, Any]) -> None:
        """Whoever asked for a change may not decide it."""
        if context["actor"] == self.requested_by:
            raise PermissionDeniedError("A correction cannot be decided by the officer who requested it.")
