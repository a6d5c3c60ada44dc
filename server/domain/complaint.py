"""Complaints: filed -> acknowledged -> investigating -> escalated -> resolved | dismissed; reopened."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate
from server.domain.errors import InvalidInputError

CATEGORIES = ("voter_registration", "neutrality", "technical", "logistics", "service", "other")
ESCALATION_TARGETS = ("legal", "bawaslu")
OPEN_STATUSES = ("filed", "acknowledged", "investigating", "escalated", "reopened")


class Complaint(PantauAggregate):
    """A complaint about a committee, and what was done about it."""

    class Filed(PantauAggregate.Created):
        committee: str
        category: str
        description: str
        complainant: str | None
        fingerprint: str

    @event(Filed)
    def __init__(
        self,
        id: UUID,
        committee: str,
        category: str,
        description: str,
        complainant: str | None,
        fingerprint: str,
        context: dict[str, Any],
    ) -> None:
        if category not in CATEGORIES:
            raise InvalidInputError(f"Unknown category '{category}'.", "category")
        self.committee = committee
        self.category = category
        self.description = description
        self.complainant = complainant
        self.fingerprint = fingerprint
        self.filed_by = context["actor"]
        self.status = "filed"
        self.escalated_to: str | None = None
        self.outcome: str | None = None

    class Acknowledged(PantauAggregate.Event):
        note: str

    def acknowledge(self, note: str, context: dict[str, Any]) -> None:
        self.check_status("acknowledge", ("filed",))
        self._acknowledge(note=note, context=context)

    @event(Acknowledged)
    def _acknowledge(self, note: str, context: dict[str, Any]) -> None:
        self.status = "acknowledged"

    class InvestigationStarted(PantauAggregate.Event):
        note: str

    def investigate(self, note: str, context: dict[str, Any]) -> None:
        self.check_status("investigate", ("acknowledged", "reopened"))
        self._investigate(note=note, context=context)

    @event(InvestigationStarted)
    def _investigate(self, note: str, context: dict[str, Any]) -> None:
        self.status = "investigating"

    class Escalated(PantauAggregate.Event):
        target: str
        reason: str

    def escalate(self, target: str, reason: str, context: dict[str, Any]) -> None:
        if target not in ESCALATION_TARGETS:
            raise InvalidInputError(f"Cannot escalate to '{target}'.", "target")
        self.check_status("escalate", ("investigating",))
        self._escalate(target=target, reason=reason, context=context)

    @event(Escalated)
    def _escalate(self, target: str, reason: str, context: dict[str, Any]) -> None:
        self.status = "escalated"
        self.escalated_to = target

    class Resolved(PantauAggregate.Event):
        reason: str

    def resolve(self, reason: str, context: dict[str, Any]) -> None:
        self.check_status("resolve", ("investigating", "escalated"))
        self._resolve(reason=reason, context=context)

    @event(Resolved)
    def _resolve(self, reason: str, context: dict[str, Any]) -> None:
        self.status = "resolved"
        self.outcome = reason

    class Dismissed(PantauAggregate.Event):
        reason: str

    def dismiss(self, reason: str, context: dict[str, Any]) -> None:
        self.check_status("dismiss", ("filed", "acknowledged", "investigating", "escalated", "reopened"))
        self._dismiss(reason=reason, context=context)

    @event(Dismissed)
    def _dismiss(self, reason: str, context: dict[str, Any]) -> None:
        self.status = "dismissed"
        self.outcome = reason

    class Reopened(PantauAggregate.Event):
        reason: str

    def reopen(self, reason: str, context: dict[str, Any]) -> None:
        self.check_status("reopen", ("resolved", "dismissed"))
        self._reopen(reason=reason, context=context)

    @event(Reopened)
    def _reopen(self, reason: str, context: dict[str, Any]) -> None:
        self.status = "reopened"
        self.outcome = None
