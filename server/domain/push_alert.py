"""Committee alerts worth waking someone for, recorded once each so pushes follow from events.

The status view computes alerts from facts at query time; whoever decides an alert should reach a
phone records it here under a stable key (for example the log position or the day that caused it),
so a projection rebuild that raises the same alert again collides instead of notifying twice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate, derived_id

REASON_MAX_LENGTH = 500


def alert_id(committee: str, key: str) -> UUID:
    """The aggregate id of one alert on one committee."""
    return derived_id("committee-alert", f"{committee}:{key}")


class CommitteeAlert(PantauAggregate):
    """An alert about a committee (no visit for days, overdue complaints...)."""

    class Raised(PantauAggregate.Created):
        committee: str
        reason: str
        key: str

    @event(Raised)
    def __init__(self, committee: str, reason: str, key: str, context: dict[str, Any]) -> None:
        self.committee = committee
        self.reason = reason
        self.key = key

    @staticmethod
    def create_id(committee: str, key: str, **_: Any) -> UUID:
        return alert_id(committee, key)
