"""Who is told about what: one rule per event type, pure (no SQL, no HTTP, no clock).

A rule looks at one event and answers a Notice: the audiences to reach, the text to render, where
in the app a tap should land, and how urgent it is. Adding a rule for a new event type (Dispute.Opened
already waits here) is one decorated function; the dispatcher never changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.domain.committee import kind_of, parent_code

DAY = 24 * 3600
REASON_EXCERPT = 200


@dataclass(frozen=True)
class Audience:
    """Accounts holding `role` (scoped to `scope` when given), or the one account `username`."""

    role: str | None = None
    scope: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class Notice:
    """What to push about one event, before it is rendered per recipient language."""

    kind: str
    url: str
    topic: str
    audiences: tuple[Audience, ...]
    params: dict[str, str] = field(default_factory=dict)
    urgency: str = "normal"
    ttl: int = DAY


class Lookup(Protocol):
    """What a rule may ask beyond the event itself; the dispatcher answers from the event store."""

    def aggregate(self, event: Any) -> Any:
        """The aggregate as it was right after `event`."""

    def committee_name(self, code: str) -> str:
        """A committee's name, or its code if unknown."""


Rule = Callable[[Any, Lookup], Notice | None]
RULES: dict[str, Rule] = {}


def rule(*event_names: str) -> Callable[[Rule], Rule]:
    """Register a rule for events named like `Complaint.Filed` (aggregate class, event class)."""

    def register(function: Rule) -> Rule:
        for name in event_names:
            RULES[name] = function
        return function

    return register


def event_name(event: Any) -> str:
    return type(event).__qualname__


def notice_for(event: Any, lookup: Lookup) -> Notice | None:
    """The notice an event calls for, or None: most events wake nobody."""
    handler = RULES.get(event_name(event))
    return handler(event, lookup) if handler else None


def excerpt(text: str | None) -> str:
    """Free text shortened so a payload stays far below the 3 KB we allow ourselves."""
    text = " ".join((text or "").split())
    return text if len(text) <= REASON_EXCERPT else text[: REASON_EXCERPT - 1] + "…"


def ppk_over(committee: str) -> str:
    """The PPK responsible for a committee: its parent for a PPS, itself for a PPK."""
    return parent_code(committee) or committee


def _committee_params(code: str, lookup: Lookup) -> dict[str, str]:
    return {"committee": code, "committee_name": lookup.committee_name(code), "level": kind_of(code)}


@rule("Complaint.Filed", "Complaint.Escalated")
def complaint_needs_ppk(event: Any, lookup: Lookup) -> Notice:
    """A new or escalated complaint: the PPK officers over that PPS, and the city's KPU admins."""
    escalated = event_name(event) == "Complaint.Escalated"
    complaint = lookup.aggregate(event)
    params = _committee_params(complaint.committee, lookup)
    params["category"] = complaint.category
    if escalated:
        params.update(target=event.target, reason=excerpt(event.reason))
    return Notice(
        kind="complaint_escalated" if escalated else "complaint_filed",
        url=f"/#/complaints/{event.originator_id}",
        topic=event.originator_id.hex,
        audiences=(Audience(role="ppk_officer", scope=ppk_over(complaint.committee)), Audience(role="kpu_admin")),
        params=params,
        urgency="high" if escalated else "normal",
    )


@rule("RegistrationCorrection.Approved", "RegistrationCorrection.Rejected")
def correction_decided(event: Any, lookup: Lookup) -> Notice:
    """A decided correction: the officer who asked for it (never the voter's NIK or name in the text)."""
    correction = lookup.aggregate(event)
    params = _committee_params(correction.committee, lookup)
    params.update(correction_kind=correction.kind, reason=excerpt(event.reason))
    approved = event_name(event).endswith("Approved")
    return Notice(
        kind="correction_approved" if approved else "correction_rejected",
        url=f"/#/corrections/{event.originator_id}",
        topic=event.originator_id.hex,
        audiences=(Audience(username=correction.requested_by),),
        params=params,
    )


@rule("CommitteeAlert.Raised")
def committee_alert(event: Any, lookup: Lookup) -> Notice:
    """An alert on a committee: the PPK officers over it."""
    params = _committee_params(event.committee, lookup)
    params["reason"] = excerpt(event.reason)
    return Notice(
        kind="committee_alert",
        url=f"/#/committees/{event.committee}",
        topic=event.originator_id.hex,
        audiences=(Audience(role="ppk_officer", scope=ppk_over(event.committee)),),
        params=params,
        urgency="high",
    )


@rule("Dispute.Opened")
def dispute_opened(event: Any, lookup: Lookup) -> Notice:
    """A new dispute: the legal team. The title is shown, the summary stays in the app."""
    committees = list(getattr(event, "committees", None) or [])
    names = ", ".join(lookup.committee_name(code) for code in committees[:3]) or "-"
    if len(committees) > 3:
        names += f" +{len(committees) - 3}"
    return Notice(
        kind="dispute_opened",
        url=f"/#/disputes/{event.originator_id}",
        topic=event.originator_id.hex,
        audiences=(Audience(role="legal"),),
        params={"title": excerpt(getattr(event, "title", "")), "committee_name": names},
        urgency="high",
    )
