"""The push dispatcher: follows the event log, decides who is told, and delivers each push at most once.

Two steps, each with its own commits:
  enqueue  read new events after our own position; update the directory; insert one outbox row per
           (event position, subscription); move our position -- all in one transaction, so a crash
           neither loses an event nor queues it twice (the primary key refuses a second row anyway).
  deliver  for each due row: claim it ('sending', committed), send, then record the answer. A row is
           only ever sent from 'pending', and it leaves 'pending' before the request goes out: a
           dispatcher that dies mid-send leaves it in 'sending', which later becomes 'unknown' and is
           never retried. At most once, by construction; the price is that a crash can lose one push.
Nothing here runs in a web request, and no projection rebuild touches these tables.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

from projections.db import Database
from server.config import Settings
from server.domain.errors import DomainError
from server.domain.push_rules import notice_for
from server.domain.push_texts import render
from server.push import store
from server.push.sender import Outcome, Sender, WebPushSender
from server.push.vapid import load_vapid_key

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Stats:
    """What one catch_up did, for logs and tests."""

    enqueued: int = 0
    sent: int = 0
    retried: int = 0
    gone: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    expired_subscriptions: int = 0


class _EventStoreLookup:
    """Answers the rules' questions from the event store (the dispatcher is a process manager, not a view)."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self._names: dict[str, str] = {}

    def aggregate(self, event: Any) -> Any:
        return self.application.repository.get(event.originator_id, version=event.originator_version)

    def committee_name(self, code: str) -> str:
        if code not in self._names:
            try:
                self._names[code] = self.application.committee(code).name
            except DomainError:
                self._names[code] = code
        return self._names[code]


class PushDispatcher:
    """Call catch_up() from the worker loop; it returns quickly when there is nothing to do."""

    def __init__(
        self,
        application: Any,
        db: Database,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        sender: Sender | None = None,
        batch_size: int = 200,
        max_attempts: int = 6,
        base_delay: float = 30.0,
        max_delay: float = 3600.0,
        lease: float = 120.0,
    ) -> None:
        self.application = application
        self.db = db
        self.settings = settings
        self.clock = clock
        self.sender = sender or WebPushSender(load_vapid_key(settings))
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        # Longer than any send can take (the sender's timeout), so only a dead dispatcher's rows qualify.
        self.lease = lease
        self.lookup = _EventStoreLookup(application)
        store.create(db)

    def _now(self) -> float:
        return self.clock().timestamp()

    def catch_up(self) -> Stats:
        """Queue pushes for every new event, end stale subscriptions, and send what is due."""
        stats = Stats()
        while (queued := self.enqueue_batch()) is not None:
            stats.enqueued += queued
        stats.expired_subscriptions = self.expire_subscriptions()
        self.deliver_due(stats)
        return stats

    def enqueue_batch(self) -> int | None:
        """One batch of the log into the outbox; None once the log is exhausted."""
        mapper = self.application.mapper
        queued = 0
        with self.db.transaction(write=True) as cur:
            start = store.position(cur)
            notifications = self.application.recorder.select_notifications(
                start=start, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return None
            for notification in notifications:
                event = mapper.to_domain_event(notification)
                store.apply_directory(cur, event)
                queued += self._enqueue(cur, notification.id, event)
            store.advance(cur, notifications[-1].id)
        return queued

    def _enqueue(self, cur: Any, position: int, event: Any) -> int:
        try:
            notice = notice_for(event, self.lookup)
        except Exception:
            # One event a rule cannot handle must not stop every later push: log it and move on.
            log.exception("push rule failed for the event at position %s", position)
            return 0
        if notice is None:
            return 0
        now, event_at = self._now(), event.timestamp.timestamp()
        if now - event_at > notice.ttl:
            return 0  # a first run over an old log: the news is stale, and the push service would drop it anyway
        actor = event.context.get("actor")
        count = 0
        for subscription, (username, language) in store.recipients(cur, notice.audiences, event_at).items():
            if username == actor:
                continue  # nobody is woken up by their own action
            payload = render(notice, language).decode()
            store.enqueue(cur, position, subscription, username, notice.kind, payload, notice.ttl, notice.urgency,
                          notice.topic, event_at, now)
            count += 1
        return count

    def expire_subscriptions(self) -> int:
        """End subscriptions not renewed for PANTAU_PUSH_SUBSCRIPTION_MAX_DAYS (the PWA renews at each login)."""
        cutoff = self.clock() - timedelta(days=self.settings.push_subscription_max_days)
        with self.db.transaction() as cur:
            stale = store.subscriptions_older_than(cur, cutoff.timestamp())
        ended = 0
        for subscription in stale:
            if self.application.end_push_subscription(UUID(subscription), "expired", renewed_before=cutoff):
                ended += 1
            with self.db.transaction(write=True) as cur:
                store.deactivate(cur, subscription)
        return ended

    def deliver_due(self, stats: Stats | None = None) -> Stats:
        """Send every due delivery once; retries are scheduled, never looped here."""
        stats = stats or Stats()
        now = self._now()
        with self.db.transaction(write=True) as cur:
            stats.unknown += store.abandon_interrupted(cur, older_than=now - self.lease, now=now)
            due = store.due(cur, now, self.batch_size)
        for position, subscription in due:
            with self.db.transaction(write=True) as cur:
                delivery = store.claim(cur, position, subscription, self._now())
            if delivery is not None:
                self._deliver(delivery, stats)
        return stats

    def _deliver(self, delivery: store.Delivery, stats: Stats) -> None:
        now = self._now()
        if not delivery.active:
            self._finish(delivery, "skipped", stats, error="subscription ended before the send")
            return
        remaining = int(delivery.event_at + delivery.ttl - now)
        if remaining <= 0:
            self._finish(delivery, "skipped", stats, error="TTL passed before the send")
            return
        outcome = self.sender.send(delivery.subscription_info(), delivery.payload, remaining, delivery.urgency,
                                   delivery.topic)
        if outcome.status == "retry":
            if delivery.attempts < self.max_attempts:
                self._finish(delivery, "pending", stats, outcome, next_attempt_at=self._retry_at(delivery, outcome))
                return
            log.warning("push %s/%s: gave up after %s attempts", delivery.position, delivery.subscription_id,
                        delivery.attempts)
            self._finish(delivery, "failed", stats, outcome, error=f"gave up after {delivery.attempts} attempts")
            return
        self._finish(delivery, outcome.status, stats, outcome)
        if outcome.status == "gone":
            # Recorded as an event first: auditors see why this phone stopped receiving.
            self.application.end_push_subscription(UUID(delivery.subscription_id), "gone")
            with self.db.transaction(write=True) as cur:
                store.deactivate(cur, delivery.subscription_id)

    def _retry_at(self, delivery: store.Delivery, outcome: Outcome) -> float:
        """Retry-After when the service gave one (429), else exponential back-off from base_delay."""
        now = self._now()
        backoff = min(self.base_delay * 2 ** (delivery.attempts - 1), self.max_delay)
        if outcome.retry_after:
            wait = _retry_after_seconds(outcome.retry_after, self.clock())
            if wait is not None:
                return now + min(max(wait, 1.0), self.max_delay)
        return now + backoff

    def _finish(self, delivery: store.Delivery, status: str, stats: Stats, outcome: Outcome | None = None,
                next_attempt_at: float | None = None, error: str | None = None) -> None:
        with self.db.transaction(write=True) as cur:
            store.finish(cur, delivery, status, self._now(), next_attempt_at,
                         outcome.http_status if outcome else None, error or (outcome.error if outcome else None))
        counter = "retried" if status == "pending" else status
        setattr(stats, counter, getattr(stats, counter) + 1)

    def run_forever(self, stop: Callable[[], bool] = lambda: False, idle_seconds: float = 1.0) -> None:
        """`pantau push run`: catch up, then poll; a push a second late is still on time."""
        while not stop():
            stats = self.catch_up()
            if not (stats.enqueued or stats.sent or stats.retried):
                time.sleep(idle_seconds)


def _retry_after_seconds(value: str, now: datetime) -> float | None:
    """Retry-After as delay-seconds or an HTTP date (RFC 9110); None if unreadable."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return (parsedate_to_datetime(value) - now).total_seconds()
    except (TypeError, ValueError):
        return None
