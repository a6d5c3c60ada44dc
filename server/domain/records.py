"""Plain-data views of aggregates for answers; masking decided by who asks."""

from __future__ import annotations

from typing import Any

from server.domain.attachment import attachments_of
from server.domain.base import PantauAggregate
from server.domain.committee import parent_code
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection, mask_nik
from server.domain.dispute import Dispute, dispute_record
from server.domain.roles import Actor
from server.domain.visit import MonitoringVisit

KINDS: dict[str, type[PantauAggregate]] = {
    "visit": MonitoringVisit,
    "complaint": Complaint,
    "correction": RegistrationCorrection,
    "dispute": Dispute,
}
REPORT_KINDS = ("visit", "complaint", "correction")


def check_scope(actor: Actor, aggregate: PantauAggregate) -> None:
    """Refuse a record outside the actor's committees; a dispute is in scope only if all its committees are."""
    if isinstance(aggregate, Dispute):
        actor.check_permission("dispute:read")
        for code in aggregate.committees:
            actor.check_committee(code, parent_code(code))
        return
    actor.check_committee(aggregate.committee, parent_code(aggregate.committee))


def kind_of_record(aggregate: PantauAggregate) -> str:
    """'visit', 'complaint' or 'correction'."""
    for kind, cls in KINDS.items():
        if isinstance(aggregate, cls):
            return kind
    raise TypeError(f"{type(aggregate).__name__} is not a report")


def as_record(aggregate: PantauAggregate, actor: Actor) -> dict[str, Any]:
    """The record as this actor may see it."""
    if isinstance(aggregate, Dispute):
        return dispute_record(aggregate)
    base: dict[str, Any] = {
        "id": str(aggregate.id),
        "kind": kind_of_record(aggregate),
        "committee": aggregate.committee,
        "status": aggregate.status,
        "version": aggregate.version,
        "created_at": aggregate.created_on.isoformat(),
        "modified_at": aggregate.modified_on.isoformat(),
        "last_changed_by": aggregate.last_changed_by,
        "attachments": attachments_of(aggregate),
    }
    if isinstance(aggregate, MonitoringVisit):
        base.update(
            recorded_by=aggregate.recorded_by,
            checklist_version=aggregate.checklist_version,
            checklist=dict(aggregate.checklist),
            findings=aggregate.findings,
            follow_ups=[dict(f) for f in aggregate.follow_ups],
            amendments=[dict(a) for a in aggregate.amendments],
        )
    elif isinstance(aggregate, Complaint):
        base.update(
            filed_by=aggregate.filed_by,
            category=aggregate.category,
            description=aggregate.description,
            complainant=aggregate.complainant,
            escalated_to=aggregate.escalated_to,
            outcome=aggregate.outcome,
        )
    elif isinstance(aggregate, RegistrationCorrection):
        base.update(
            requested_by=aggregate.requested_by,
            correction_kind=aggregate.kind,
            nik=aggregate.nik if actor.sees_full_nik else mask_nik(aggregate.nik),
            full_name=aggregate.full_name,
            tps=aggregate.tps,
            target_tps=aggregate.target_tps,
            tms_reason=aggregate.tms_reason,
            details=aggregate.details,
            verified_by=aggregate.verified_by,
            decided_by=aggregate.decided_by,
            decision_reason=aggregate.decision_reason,
        )
    return base
