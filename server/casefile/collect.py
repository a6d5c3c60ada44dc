"""What belongs in a dispute's case file: the dispute's events, every event of its subjects, evidence events.

Events are read from the event store as stored (not through aggregates), because the case file proves the
stored bytes: if someone altered a row, the case file must carry the altered row so that verification fails,
rather than quietly carry what the aggregate would have looked like.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from server.domain.roles import Actor


@dataclass(frozen=True)
class RelatedEvent:
    """One stored event and why it is in the case file ("dispute", "subject" or "evidence")."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes
    related_as: str


@dataclass
class CaseContents:
    dispute: dict[str, Any]
    subjects: list[dict[str, Any]]
    events: list[RelatedEvent]
    warnings: list[str] = field(default_factory=list)


def collect_case(application: Any, actor: Actor, dispute_id: UUID) -> CaseContents:
    """The dispute as this actor may read it, and every stored event it relates to, in log order."""
    dispute = application.get_dispute(actor, dispute_id)
    subjects = [application.get_record(actor, s["kind"], UUID(s["id"])) for s in dispute["subjects"]]
    warnings: list[str] = []
    found: dict[int, RelatedEvent] = {}
    for aggregate_id, related_as in [(dispute_id, "dispute"), *((UUID(s["id"]), "subject") for s in subjects)]:
        for event in _history(application.recorder, aggregate_id, related_as, warnings):
            found.setdefault(event.position, event)
    for item in dispute["evidence"]:
        if item["kind"] == "event" and item["position"] not in found:
            event = _at_position(application.recorder, item, warnings)
            if event is not None:
                found[event.position] = event
    return CaseContents(dispute, subjects, [found[p] for p in sorted(found)], warnings)


def _history(recorder: Any, aggregate_id: UUID, related_as: str, warnings: list[str]) -> list[RelatedEvent]:
    events = []
    for stored in recorder.select_events(aggregate_id):
        position = recorder.position_of(aggregate_id, stored.originator_version)
        if position is None:  # pragma: no cover - the row was deleted between the two reads
            warnings.append(f"{aggregate_id} v{stored.originator_version} has no log position")
            continue
        events.append(
            RelatedEvent(
                position, str(aggregate_id), stored.originator_version, stored.topic, bytes(stored.state), related_as
            )
        )
    return events


def _at_position(recorder: Any, item: dict[str, Any], warnings: list[str]) -> RelatedEvent | None:
    """An event named as evidence; whatever now sits at its position is exported, so a swap shows in verify.py."""
    position = item["position"]
    found = recorder.select_notifications(start=position, limit=1, stop=position)
    if not found:
        warnings.append(f"evidence event at position {position} is missing from the event store")
        return None
    stored = found[0]
    if (str(stored.originator_id), stored.originator_version) != (item["aggregate_id"], item["aggregate_version"]):
        warnings.append(
            f"position {position} no longer holds {item['aggregate_id']} v{item['aggregate_version']}, "
            "the event named as evidence"
        )
    return RelatedEvent(
        position, str(stored.originator_id), stored.originator_version, stored.topic, bytes(stored.state), "evidence"
    )
