"""What every Pantau event carries, and the aggregate base that keeps it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from server.domain.errors import StaleVersionError, TransitionNotAllowedError

# Fixed namespace so ids derived from natural keys (area codes, usernames) are stable forever.
PANTAU_NAMESPACE = UUID("6f1c2a4e-3b7d-5e9a-8c10-2d4f6a8b0c1e")


def derived_id(kind: str, key: str) -> UUID:
    """A stable aggregate id for a natural key such as an area code or a username."""
    return uuid5(PANTAU_NAMESPACE, f"{kind}:{key}")


@dataclass(frozen=True)
class Location:
    """Where the phone said it was, and how sure it was."""

    latitude: float
    longitude: float
    accuracy_m: float | None = None


@dataclass(frozen=True)
class Context:
    """Who did something, in which role, from which submission, when the device thought it was."""

    actor: str
    role: str
    submission_id: str | None = None
    device_time: str | None = None
    location: Location | None = None

    def as_event_data(self) -> dict[str, Any]:
        """Plain data stored on the event (the transcoder knows dicts, not our classes)."""
        data = asdict(self)
        if self.location is None:
            data["location"] = None
        return data


SYSTEM = Context(actor="system", role="system")


class PantauAggregate(Aggregate):
    """Aggregate base: every event names its context; guards for versions and lifecycles."""

    STATUSES: ClassVar[tuple[str, ...]] = ()

    class Event(Aggregate.Event):
        context: dict[str, Any]

        def mutate(self, aggregate: Any) -> Any:
            aggregate = super().mutate(aggregate)
            aggregate.last_changed_by = self.context.get("actor")
            aggregate.last_changed_at = self.timestamp.isoformat()
            return aggregate

    class Created(Event, Aggregate.Created):
        pass

    last_changed_by: str | None = None
    last_changed_at: str | None = None

    def check_version(self, expected: int | None) -> None:
        """Refuse a change made against an older version than the current one."""
        if expected is not None and expected != self.version:
            raise StaleVersionError(expected, self.version, self.last_changed_by, self.last_changed_at)

    def check_status(self, action: str, allowed: tuple[str, ...]) -> None:
        """Refuse a lifecycle step the current status does not allow."""
        status = getattr(self, "status", None)
        if status not in allowed:
            raise TransitionNotAllowedError(
                f"Cannot {action} a {type(self).__name__.lower()} that is {status}; "
                f"allowed only when {' or '.join(allowed)}."
            )
