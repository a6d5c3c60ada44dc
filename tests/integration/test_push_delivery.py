"""Push delivery end to end on SQLite and PostgreSQL: API subscription -> event -> dispatcher -> fake push service."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.config import Settings
from server.domain.base import SYSTEM
from server.domain.push import subscription_id
from server.push import store
from server.push.alerts import notify_alert
from server.push.dispatcher import PushDispatcher
from server.push.sender import WebPushSender
from server.push.store import push_database
from server.push.vapid import load_vapid_key
from server.services import build_application
from tests.conftest import PPS
from tests.factories import complaint_body, correction_body
from tests.fake_push_service import FakePushService, running_push_service, vapid_claims_are_valid

pytestmark = pytest.mark.usefixtures("backend")


class FakeClock:
    """Time the dispatcher sees; tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Crash(BaseException):
    """Stands in for the process dying: nothing in the dispatcher may catch it."""


class CrashAfterSending:
    """A sender that really sends, then 'dies' before the dispatcher can record the answer."""

    def __init__(self, sender: WebPushSender, crash_on_call: int) -> None:
        self.sender = sender
        self.crash_on_call = crash_on_call
        self.calls = 0

    def send(self, *args: Any) -> Any:
        self.calls += 1
        outcome = self.sender.send(*args)
        if self.calls == self.crash_on_call:
            raise Crash
        return outcome


@dataclass
class Push:
    service: FakePushService
    clock: FakeClock
    settings: Settings
    application: Any
    client: Any
    headers: dict[str, dict[str, str]]
    dispatchers: list[PushDispatcher]

    def dispatcher(self, **options: Any) -> PushDispatcher:
        """A new dispatcher over the same stores, as after a restart."""
        dispatcher = PushDispatcher(self.application, push_database(self.settings), self.settings, clock=self.clock,
                                    **options)
        self.dispatchers.append(dispatcher)
        return dispatcher

    def subscribe(self, name: str, headers: dict[str, str]) -> None:
        response = self.client.post(
            "/api/v1/push/subscriptions", json=self.service.subscriber(name).subscription(), headers=headers
        )
        assert response.status_code == 201, response.json

    def outbox(self) -> list[dict[str, Any]]:
        with self.dispatchers[0].db.transaction() as cur:
            return store.deliveries(cur)


def login(client: Any, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def push(client: Any, settings: Settings, seeded: Any, headers: dict[str, dict[str, str]]) -> Iterator[Push]:
    """The PPK officer, both KPU admins (one prefers English) and the PPS officer subscribed; a dispatcher ready."""
    seeded.create_account("admin_en", "english-admin-1", "kpu_admin", None, SYSTEM, language="en")
    seeded.create_account("ppk_girimaya", "other-ppk-2024", "ppk_officer", "19.71.07", SYSTEM)
    headers = {**headers, "admin_en": login(client, "admin_en", "english-admin-1"),
               "ppk_girimaya": login(client, "ppk_girimaya", "other-ppk-2024")}
    application = build_application(settings)  # the worker's own application, as in production
    with running_push_service() as service:
        harness = Push(service, FakeClock(), settings, application, client, headers, [])
        harness.subscribe("ppk", headers["ppk_officer"])
        harness.subscribe("admin", headers["kpu_admin"])
        harness.subscribe("admin_en", headers["admin_en"])
        harness.subscribe("pps", headers["pps_officer"])
        harness.subscribe("other_ppk", headers["ppk_girimaya"])
        harness.dispatcher()
        yield harness
        assert service.errors == []
    for dispatcher in harness.dispatchers:
        dispatcher.db.close()
    application.close()


def file_complaint(push: Push) -> str:
    body = complaint_body(PPS)
    response = push.client.post("/api/v1/complaints", json=body, headers=push.headers["pps_officer"])
    assert response.status_code == 201, response.json
    return body["id"]


def test_a_filed_complaint_reaches_the_ppk_officer_and_the_kpu_admins_in_their_language(push: Push) -> None:
    # The PPS officer files a complaint about Semabung Lama (PPK Bukit Intan).
    complaint = file_complaint(push)
    stats = push.dispatchers[0].catch_up()

    # The Bukit Intan PPK officer and both admins are told; the filer and Girimaya's PPK officer are not.
    assert stats.sent == 3
    assert sorted(r.name for r in push.service.accepted()) == ["admin", "admin_en", "ppk"]
    ppk = push.service.accepted("ppk")[0]
    assert ppk.payload["title"] == "Pengaduan baru"
    assert "Semabung Lama" in ppk.payload["body"] and "netralitas" in ppk.payload["body"]
    assert ppk.payload["url"] == f"/#/complaints/{complaint}"
    english = push.service.accepted("admin_en")[0].payload
    assert english["title"] == "New complaint" and "neutrality" in english["body"]
    # Headers as sent: TTL at most a day, normal urgency, the record as topic; a valid VAPID signature.
    assert 0 < ppk.ttl <= 24 * 3600 and ppk.urgency == "normal" and ppk.topic == uuid.UUID(complaint).hex
    key = load_vapid_key(push.settings)
    assert all(vapid_claims_are_valid(r, push.service, key.public_key, key.subject) for r in push.service.received)

    # Nothing is sent twice: a second pass and a second dispatcher find nothing new.
    assert push.dispatchers[0].catch_up().sent == 0
    assert push.dispatcher().catch_up().sent == 0
    assert len(push.service.received) == 3


def test_an_escalated_complaint_is_urgent_and_skips_the_officer_who_escalated(push: Push) -> None:
    complaint = file_complaint(push)
    push.dispatchers[0].catch_up()
    for version, (action, extra) in enumerate(
        [("acknowledge", {"note": "ok"}), ("investigate", {"note": "cek"}),
         ("escalate", {"target": "bawaslu", "reason": "Dugaan pelanggaran netralitas"})], start=1
    ):
        response = push.client.post(f"/api/v1/complaints/{complaint}/{action}",
                                    json={"expected_version": version, **extra}, headers=push.headers["ppk_officer"])
        assert response.status_code == 200, response.json
    push.dispatchers[0].catch_up()

    escalated = [r for r in push.service.accepted() if r.payload["kind"] == "complaint_escalated"]
    assert sorted(r.name for r in escalated) == ["admin", "admin_en"]
    assert escalated[0].urgency == "high"
    assert "Bawaslu" in escalated[0].payload["body"] and "netralitas" in escalated[0].payload["body"]


def test_a_rejected_correction_reaches_the_officer_who_requested_it(push: Push) -> None:
    body = correction_body(PPS)
    response = push.client.post("/api/v1/corrections", json=body, headers=push.headers["pps_officer"])
    assert response.status_code == 201, response.json
    response = push.client.post(f"/api/v1/corrections/{body['id']}/reject",
                                json={"expected_version": 1, "reason": "Dokumen pindah memilih belum ada"},
                                headers=push.headers["ppk_officer"])
    assert response.status_code == 200, response.json
    push.dispatchers[0].catch_up()

    [received] = push.service.accepted()
    assert received.name == "pps"
    assert received.payload["title"] == "Perbaikan data ditolak"
    assert "Dokumen pindah memilih belum ada" in received.payload["body"]
    assert received.payload["url"] == f"/#/corrections/{body['id']}"
    # The voter's NIK and name never leave in a push.
    assert body["nik"] not in str(received.payload) and body["full_name"] not in str(received.payload)


def test_a_subscription_answered_410_is_removed_and_the_removal_recorded(push: Push) -> None:
    push.service.answer("ppk", 410)
    file_complaint(push)
    stats = push.dispatchers[0].catch_up()
    assert stats.gone == 1

    # The removal is an event with its reason, so auditors see why this phone went quiet.
    subscription = push.application.repository.get(subscription_id(push.service.subscribers["ppk"].endpoint))
    assert not subscription.active and subscription.ended_reason == "gone"
    assert subscription.last_changed_by == "push-dispatcher"

    # The next complaint is not even attempted for that endpoint.
    file_complaint(push)
    push.dispatchers[0].catch_up()
    assert len(push.service.requests_to("ppk")) == 1
    assert len(push.service.accepted("admin")) == 2


def test_429_and_503_are_retried_later_and_delivered_once(push: Push) -> None:
    push.service.answer("ppk", (429, {"Retry-After": "120"}))
    push.service.answer("admin", 503, 503)
    file_complaint(push)
    dispatcher = push.dispatchers[0]

    stats = dispatcher.catch_up()
    assert stats.sent == 1 and stats.retried == 2  # admin_en got through at once

    # 40 s later: admin's back-off (30 s) is over, but the service is still down; the PPK's 120 s are not over.
    push.clock.advance(40)
    assert dispatcher.catch_up().retried == 1
    assert len(push.service.requests_to("ppk")) == 1

    # Two minutes later both are due and the service answers: each is delivered exactly once.
    push.clock.advance(125)
    assert dispatcher.catch_up().sent == 2
    push.clock.advance(3600)
    assert dispatcher.catch_up().sent == 0
    assert [len(push.service.accepted(name)) for name in ("ppk", "admin", "admin_en")] == [1, 1, 1]
    attempts = {row["username"]: row["attempts"] for row in push.outbox()}
    assert attempts == {"ppk_bukitintan": 2, "kpu_admin": 3, "admin_en": 1}


def test_a_push_that_keeps_failing_is_given_up_with_a_recorded_failure(push: Push) -> None:
    push.service.answer("ppk", 503, 503, 503)
    file_complaint(push)
    dispatcher = push.dispatcher(max_attempts=3)
    for _ in range(4):
        dispatcher.catch_up()
        push.clock.advance(3600)
    [row] = [row for row in push.outbox() if row["username"] == "ppk_bukitintan"]
    assert row["status"] == "failed" and row["attempts"] == 3 and row["last_status"] == 503
    assert "gave up after 3 attempts" in row["last_error"]
    assert push.service.accepted("ppk") == []


def test_restarting_the_dispatcher_mid_queue_sends_nothing_twice(push: Push) -> None:
    file_complaint(push)
    file_complaint(push)  # six pushes queued: two complaints x three recipients
    key = load_vapid_key(push.settings)
    crashing = push.dispatcher(sender=CrashAfterSending(WebPushSender(key), crash_on_call=2))

    # The second push reaches the service, then the process "dies" before recording it.
    with pytest.raises(Crash):
        crashing.catch_up()
    assert len(push.service.received) == 2

    # A new dispatcher over the same database sends the four that were never attempted...
    restarted = push.dispatcher()
    assert restarted.catch_up().sent == 4
    # ...and once the dead one's lease is over, its in-flight row is written off, never resent.
    push.clock.advance(3600)
    assert restarted.catch_up().unknown == 1
    assert push.dispatcher().catch_up().sent == 0

    positions = [(r.name, r.payload["url"]) for r in push.service.received]
    assert len(positions) == len(set(positions)) == 6
    statuses = sorted(row["status"] for row in push.outbox())
    assert statuses == ["sent"] * 5 + ["unknown"]


def test_a_committee_alert_reaches_the_ppk_officers_over_it_once(push: Push) -> None:
    # Raised twice under the same key (say, by a projection rebuild): one event, one push.
    assert notify_alert(push.application, PPS, "Belum ada kunjungan dalam 3 hari", key="no-visit:2026-11-26")
    assert not notify_alert(push.application, PPS, "Belum ada kunjungan dalam 3 hari", key="no-visit:2026-11-26")
    push.dispatchers[0].catch_up()

    [received] = push.service.accepted()
    assert received.name == "ppk" and received.urgency == "high"
    assert received.payload["title"] == "Peringatan panitia"
    assert received.payload["url"] == f"/#/committees/{PPS}"


def test_subscriptions_older_than_the_configured_age_expire(push: Push) -> None:
    push.clock.advance(timedelta(days=push.settings.push_subscription_max_days + 1).total_seconds())
    assert push.dispatchers[0].catch_up().expired_subscriptions == 5
    subscription = push.application.repository.get(subscription_id(push.service.subscribers["admin"].endpoint))
    assert not subscription.active and subscription.ended_reason == "expired"

    # Renewing (the PWA does so at each login) brings one back; the others stay ended.
    push.subscribe("admin", push.headers["kpu_admin"])
    assert push.application.repository.get(subscription.id).active
    push.clock.now = datetime.now(UTC)
    file_complaint(push)
    push.dispatchers[0].catch_up()
    assert [r.name for r in push.service.received] == ["admin"]
