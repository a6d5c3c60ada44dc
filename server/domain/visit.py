"""Monitoring visits: a readiness checklist, findings and follow-ups; amended only with a reason."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate
from server.domain.checklist import checklist as checklist_of
from server.domain.errors import InvalidInputError, TransitionNotAllowedError


class MonitoringVisit(PantauAggregate):
    """One visit by an officer to a committee."""

    class Recorded(PantauAggregate.Created):
        committee: str
        checklist_version: int
        checklist: dict[str, bool]
        findings: str
        follow_ups: list[str]
        fingerprint: str

    @event(Recorded)
    def __init__(
        self,
        id: UUID,
        committee: str,
        checklist_version: int,
        checklist: dict[str, bool],
        findings: str,
        follow_ups: list[str],
        fingerprint: str,
        context: dict[str, Any],
    ) -> None:
        self.committee = committee
        self.checklist_version = checklist_version
        self.checklist = dict(checklist)
        self.findings = findings
        self.follow_ups = [{"text": text, "resolved": False, "resolution": None} for text in follow_ups]
        self.fingerprint = fingerprint
        self.recorded_by = context["actor"]
        self.amendments: list[dict[str, Any]] = []

    class Amended(PantauAggregate.Event):
        reason: str
        checklist: dict[str, bool] | None
        findings: str | None
        follow_ups: list[str] | None

    def amend(
        self,
        reason: str,
        checklist: dict[str, bool] | None,
        findings: str | None,
        follow_ups: list[str] | None,
        context: dict[str, Any],
    ) -> None:
        """Change what was recorded; history keeps the original and the reason."""
        if not reason.strip():
            raise InvalidInputError("An amendment needs a reason.", "reason")
        if checklist is None and findings is None and follow_ups is None:
            raise InvalidInputError("An amendment must change the checklist, findings or follow-ups.")
        if checklist is not None:
            # The amended answers follow the same checklist version as the original ones.
            checklist_of(self.checklist_version).check_answers(checklist)
        self._amend(reason=reason, checklist=checklist, findings=findings, follow_ups=follow_ups, context=context)

    @event(Amended)
    def _amend(
        self,
        reason: str,
        checklist: dict[str, bool] | None,
        findings: str | None,
        follow_ups: list[str] | None,
        context: dict[str, Any],
    ) -> None:
        if checklist is not None:
            self.checklist = dict(checklist)
        if findings is not None:
            self.findings = findings
        if follow_ups is not None:
            self.follow_ups += [{"text": text, "resolved": False, "resolution": None} for text in follow_ups]
        self.amendments.append({"reason": reason, "by": context["actor"], "version": self.version + 1})

    class FollowUpResolved(PantauAggregate.Event):
        index: int
        resolution: str

    def resolve_follow_up(self, index: int, resolution: str, context: dict[str, Any]) -> None:
        """Close one follow-up; each is resolved once."""
        if not 0 <= index < len(self.follow_ups):
            raise InvalidInputError(f"This visit has no follow-up number {index}.", "index")
        if self.follow_ups[index]["resolved"]:
            raise TransitionNotAllowedError(f"Follow-up {index} is already resolved.")
        self._resolve_follow_up(index=index, resolution=resolution, context=context)

    @event(FollowUpResolved)
    def _resolve_follow_up(self, index: int, resolution: str, context: dict[str, Any]) -> None:
        self.follow_ups[index] = {**self.follow_ups[index], "resolved": True, "resolution": resolution}

    @property
    def status(self) -> str:
        return "open" if any(not f["resolved"] for f in self.follow_ups) else "closed"
