"""Disputes: legal staff's case over visits, complaints or corrections.

open -> (notes, evidence) -> ruled -> closed -> reopened -> ... ; an open dispute may also be closed unruled
(withdrawn). Later events are explicit classes with `apply` so each note, evidence item and ruling keeps the
time its event was recorded: a court reads the timeline, not just the final state.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.attachment import SHA256_HEX
from server.domain.base import PantauAggregate
from server.domain.errors import ConflictError, InvalidInputError

SUBJECT_KINDS = ("visit", "complaint", "correction")
OUTCOMES = ("upheld", "partly_upheld", "rejected")
STATUSES = ("open", "ruled", "closed", "reopened")
ACTIVE = ("open", "reopened")
MAX_SUBJECTS = 50


class DuplicateEvidenceError(ConflictError):
    """The same attachment or event is already in the dispute's evidence."""


def check_subjects(subjects: list[dict[str, str]]) -> list[dict[str, str]]:
    """Subjects as stored: kind and canonical id, at least one, no repeats."""
    if not subjects:
        raise InvalidInputError("A dispute needs at least one subject.", "subjects")
    if len(subjects) > MAX_SUBJECTS:
        raise InvalidInputError(f"A dispute has at most {MAX_SUBJECTS} subjects.", "subjects")
    seen: list[dict[str, str]] = []
    for subject in subjects:
        kind = subject.get("kind")
        if kind not in SUBJECT_KINDS:
            raise InvalidInputError(f"Subject kind must be one of {', '.join(SUBJECT_KINDS)}.", "subjects")
        try:
            canonical = {"kind": kind, "id": str(UUID(str(subject.get("id"))))}
        except ValueError:
            raise InvalidInputError("Subject id must be a UUID.", "subjects") from None
        if canonical in seen:
            raise InvalidInputError(f"Subject {kind} {canonical['id']} is named twice.", "subjects")
        seen.append(canonical)
    return seen


class Dispute(PantauAggregate):
    """A legal case about one or more records, and how it was decided."""

    STATUSES = STATUSES

    class Opened(PantauAggregate.Created):
        title: str
        summary: str
        subjects: list[dict[str, str]]
        committees: list[str]
        fingerprint: str

    @event(Opened)
    def __init__(
        self,
        id: UUID,
        title: str,
        summary: str,
        subjects: list[dict[str, str]],
        committees: list[str],
        fingerprint: str,
        context: dict[str, Any],
    ) -> None:
        self.title = title
        self.summary = summary
        self.subjects = [dict(s) for s in subjects]
        # The subjects' committees when opened: scope checks and the case file need them without loading records.
        self.committees = list(committees)
        self.fingerprint = fingerprint
        self.opened_by = context["actor"]
        self.status = "open"
        self.notes: list[dict[str, Any]] = []
        self.evidence: list[dict[str, Any]] = []
        self.rulings: list[dict[str, Any]] = []
        self.closures: list[dict[str, Any]] = []

    @classmethod
    def open(
        cls,
        id: UUID,
        title: str,
        summary: str,
        subjects: list[dict[str, str]],
        committees: list[str],
        fingerprint: str,
        context: dict[str, Any],
    ) -> Dispute:
        """Check the subjects, then open; the event never holds a subject list we would refuse."""
        checked = check_subjects(subjects)
        if not title.strip():
            raise InvalidInputError("A dispute needs a title.", "title")
        return cls(
            id=id,
            title=title,
            summary=summary,
            subjects=checked,
            committees=sorted(set(committees)),
            fingerprint=fingerprint,
            context=context,
        )

    @property
    def ruling(self) -> dict[str, Any] | None:
        """The ruling in force: the latest, unless the dispute was reopened after it."""
        return self.rulings[-1] if self.rulings and self.status in ("ruled", "closed") else None

    # --- notes ----------------------------------------------------------------------------------

    class NoteAdded(PantauAggregate.Event):
        text: str

        def apply(self, aggregate: Any) -> None:
            aggregate.notes.append(_entry(self, text=self.text))

    def add_note(self, text: str, context: dict[str, Any]) -> None:
        """A note on the case; allowed until the dispute is closed."""
        self.check_status("add a note to", ("open", "ruled", "reopened"))
        if not text.strip():
            raise InvalidInputError("A note needs text.", "text")
        self.trigger_event(self.NoteAdded, text=text, context=context)

    # --- evidence -------------------------------------------------------------------------------

    class EvidenceAttached(PantauAggregate.Event):
        evidence_kind: str  # "attachment" or "event"
        sha256: str | None
        size: int | None
        media_type: str | None
        position: int | None
        aggregate_id: str | None
        aggregate_version: int | None
        description: str

        def apply(self, aggregate: Any) -> None:
            aggregate.evidence.append(
                _entry(
                    self,
                    kind=self.evidence_kind,
                    sha256=self.sha256,
                    size=self.size,
                    media_type=self.media_type,
                    position=self.position,
                    aggregate_id=self.aggregate_id,
                    aggregate_version=self.aggregate_version,
                    description=self.description,
                )
            )

    def attach_evidence(
        self,
        description: str,
        context: dict[str, Any],
        sha256: str | None = None,
        size: int | None = None,
        media_type: str | None = None,
        position: int | None = None,
        aggregate_id: str | None = None,
        aggregate_version: int | None = None,
    ) -> None:
        """Evidence is a stored attachment (by hash) or an event in the log (by position), not both."""
        self.check_status("attach evidence to", ACTIVE)
        if (sha256 is None) == (position is None):
            raise InvalidInputError("Evidence is either an attachment (sha256) or an event (position).", "sha256")
        if sha256 is not None:
            if not SHA256_HEX.match(sha256) or size is None or media_type is None:
                raise InvalidInputError("An attachment is named by its SHA-256, size and media type.", "sha256")
            kind = "attachment"
            duplicate = any(item["sha256"] == sha256 for item in self.evidence)
        else:
            if position is None or position < 1 or aggregate_id is None or aggregate_version is None:
                raise InvalidInputError("An event is named by its log position, aggregate id and version.", "position")
            kind = "event"
            duplicate = any(item["position"] == position for item in self.evidence)
        if duplicate:
            raise DuplicateEvidenceError(f"This {kind} is already in the evidence of dispute {self.id}.")
        self.trigger_event(
            self.EvidenceAttached,
            evidence_kind=kind,
            sha256=sha256,
            size=size,
            media_type=media_type,
            position=position,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            description=description,
            context=context,
        )

    # --- ruling, closing, reopening -------------------------------------------------------------

    class RulingRecorded(PantauAggregate.Event):
        outcome: str
        ruling: str

        def apply(self, aggregate: Any) -> None:
            aggregate.rulings.append(_entry(self, outcome=self.outcome, ruling=self.ruling))
            aggregate.status = "ruled"

    def record_ruling(self, outcome: str, ruling: str, context: dict[str, Any]) -> None:
        """The decision; a ruled dispute must be reopened before it can be ruled again."""
        if outcome not in OUTCOMES:
            raise InvalidInputError(f"Outcome must be one of {', '.join(OUTCOMES)}.", "outcome")
        self.check_status("record a ruling on", ACTIVE)
        self.trigger_event(self.RulingRecorded, outcome=outcome, ruling=ruling, context=context)

    class Closed(PantauAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.closures.append(_entry(self, reason=self.reason))
            aggregate.status = "closed"

    def close(self, reason: str, context: dict[str, Any]) -> None:
        """Close after a ruling, or unruled (withdrawn, out of jurisdiction) with the reason saying so."""
        self.check_status("close", ("open", "ruled", "reopened"))
        self.trigger_event(self.Closed, reason=reason, context=context)

    class Reopened(PantauAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "reopened"

    def reopen(self, reason: str, context: dict[str, Any]) -> None:
        """Reopen a closed dispute (appeal, new evidence); earlier rulings stay in the history."""
        self.check_status("reopen", ("closed",))
        self.trigger_event(self.Reopened, reason=reason, context=context)


def _entry(event: PantauAggregate.Event, **fields: Any) -> dict[str, Any]:
    """One timeline entry: what, by whom, at which version and time."""
    return {
        **fields,
        "by": event.context.get("actor"),
        "version": event.originator_version,
        "at": event.timestamp.isoformat(),
    }


def dispute_record(dispute: Dispute) -> dict[str, Any]:
    """The dispute as legal staff, auditors and KPU administrators see it."""
    ruling = dispute.ruling
    return {
        "id": str(dispute.id),
        "kind": "dispute",
        "title": dispute.title,
        "summary": dispute.summary,
        "subjects": [dict(s) for s in dispute.subjects],
        "committees": list(dispute.committees),
        "status": dispute.status,
        "version": dispute.version,
        "opened_by": dispute.opened_by,
        "created_at": dispute.created_on.isoformat(),
        "modified_at": dispute.modified_on.isoformat(),
        "last_changed_by": dispute.last_changed_by,
        "notes": [dict(n) for n in dispute.notes],
        "evidence": [dict(e) for e in dispute.evidence],
        "rulings": [dict(r) for r in dispute.rulings],
        "ruling": dict(ruling) if ruling else None,
        "closures": [dict(c) for c in dispute.closures],
    }
