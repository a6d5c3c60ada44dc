"""The application service's push commands, kept beside the push domain so application.py stays short.

PantauApplication inherits these; each follows the house pattern: check, load, act, save.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from server.domain.base import Context
from server.domain.errors import NotFoundError
from server.domain.push import PushSubscription, check_subscription, subscription_id
from server.domain.push_alert import REASON_MAX_LENGTH, CommitteeAlert
from server.domain.roles import Actor

# Who ends a subscription or raises an alert when no person did: named so auditors can tell.
DISPATCHER = Context(actor="push-dispatcher", role="system")
STATUS_MONITOR = Context(actor="status-monitor", role="system")


class PushCommands:
    """Mixed into PantauApplication (which provides repository, save and committee)."""

    repository: Any
    save: Any
    committee: Any

    def subscribe_push(self, actor: Actor, endpoint: str, p256dh: str, auth: str, allow_local: bool = False) -> UUID:
        """Subscribe this browser for the actor; renewing an existing endpoint moves it to the actor."""
        actor.check_permission("push:subscribe")
        check_subscription(endpoint, p256dh, auth, allow_local)
        context = Context(actor=actor.username, role=actor.role).as_event_data()
        keys = {"username": actor.username, "p256dh": p256dh.rstrip("="), "auth": auth.rstrip("=")}
        for _ in range(2):  # a second try only if another request created the same endpoint meanwhile
            try:
                subscription = self.repository.get(subscription_id(endpoint))
            except AggregateNotFoundError:
                subscription = PushSubscription(endpoint=endpoint, **keys, context=context)
            else:
                if not subscription.renew(**keys, context=context):
                    return subscription.id
            try:
                self.save(subscription)
            except IntegrityError:
                continue
            return subscription.id
        raise IntegrityError(f"push subscription {subscription_id(endpoint)} kept changing")

    def unsubscribe_push(self, actor: Actor, endpoint: str) -> None:
        """End the actor's own subscription for an endpoint; ending it twice is fine."""
        actor.check_permission("push:subscribe")
        subscription = self._push_subscription(subscription_id(endpoint))
        if subscription is None or subscription.username != actor.username:
            # Someone else's endpoint looks exactly like an unknown one.
            raise NotFoundError("No push subscription of yours has this endpoint.")
        if subscription.active:
            subscription.end(reason="user", context=Context(actor=actor.username, role=actor.role).as_event_data())
            self.save(subscription)

    def end_push_subscription(self, subscription: UUID, reason: str, renewed_before: datetime | None = None) -> bool:
        """For the dispatcher: end a subscription the push service called gone, or one grown too old.

        With `renewed_before`, a subscription renewed since then is kept (the dispatcher's copy may lag).
        False when there was nothing to end.
        """
        found = self._push_subscription(subscription)
        if found is None or not found.active:
            return False
        if renewed_before is not None and datetime.fromisoformat(found.last_changed_at) >= renewed_before:
            return False
        found.end(reason=reason, context=DISPATCHER.as_event_data())
        self.save(found)
        return True

    def raise_committee_alert(self, committee: str, reason: str, key: str) -> bool:
        """Record an alert once per (committee, key); False if it was already raised."""
        self.committee(committee)
        alert = CommitteeAlert(
            committee=committee, reason=reason[:REASON_MAX_LENGTH], key=key, context=STATUS_MONITOR.as_event_data()
        )
        try:
            self.save(alert)
        except IntegrityError:
            return False
        return True

    def _push_subscription(self, aggregate_id: UUID) -> PushSubscription | None:
        try:
            found = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, PushSubscription) else None
