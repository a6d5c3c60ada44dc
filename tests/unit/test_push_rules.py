"""Push rules, texts and answer handling, in memory: no database, no network."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from server.domain.errors import InvalidInputError
from server.domain.push import check_subscription
from server.domain.push_rules import Audience, notice_for
from server.domain.push_texts import MAX_PAYLOAD_BYTES, TEXTS, render
from server.push.dispatcher import _retry_after_seconds
from server.push.sender import classify


class Names:
    """A Lookup with fixed answers."""

    def __init__(self, aggregate: Any = None) -> None:
        self._aggregate = aggregate

    def aggregate(self, event: Any) -> Any:
        return self._aggregate

    def committee_name(self, code: str) -> str:
        return {"19.71.01.1004": "Semabung Lama"}.get(code, code)


def event_named(qualname: str, **fields: Any) -> Any:
    """An object whose class is called like a domain event (Aggregate.Event)."""
    cls = type(qualname.split(".")[-1], (SimpleNamespace,), {})
    cls.__qualname__ = qualname
    return cls(originator_id=uuid.uuid4(), **fields)


def test_a_dispute_opened_reaches_legal_once_disputes_exist() -> None:
    event = event_named("Dispute.Opened", title="Sengketa DPT", committees=["19.71.01.1004", "19.71.01.1006"])
    notice = notice_for(event, Names())
    assert notice is not None and notice.audiences == (Audience(role="legal"),)
    assert notice.url == f"/#/disputes/{event.originator_id}"
    assert (
        json.loads(render(notice, "id"))["body"]
        == "Sengketa DPT (Semabung Lama, 19.71.01.1006): perlu ditinjau bagian hukum."
    )


def test_events_without_a_rule_wake_nobody() -> None:
    assert notice_for(event_named("MonitoringVisit.Recorded"), Names()) is None


def test_a_complaint_goes_to_the_ppk_over_its_pps_and_to_kpu_admins() -> None:
    complaint = SimpleNamespace(committee="19.71.01.1004", category="logistics")
    notice = notice_for(event_named("Complaint.Filed"), Names(complaint))
    assert notice is not None
    assert notice.audiences == (Audience(role="ppk_officer", scope="19.71.01"), Audience(role="kpu_admin"))


@pytest.mark.parametrize("kind", sorted(TEXTS))
@pytest.mark.parametrize("language", ["id", "en", "jv"])
def test_every_text_renders_below_3_kb_even_with_the_longest_free_text(kind: str, language: str) -> None:
    correction = SimpleNamespace(committee="19.71.01.1004", kind="move_tps", requested_by="pps", category="other")
    event = event_named(
        {
            "complaint_filed": "Complaint.Filed",
            "complaint_escalated": "Complaint.Escalated",
            "correction_approved": "RegistrationCorrection.Approved",
            "correction_rejected": "RegistrationCorrection.Rejected",
            "committee_alert": "CommitteeAlert.Raised",
            "dispute_opened": "Dispute.Opened",
        }[kind],
        reason="ü" * 5000,
        title="ü" * 5000,
        committees=["19.71.01.1004"] * 10,
        target="bawaslu",
        committee="19.71.01.1004",
    )
    notice = notice_for(event, Names(correction))
    assert notice is not None and notice.kind == kind
    payload = render(notice, language)
    assert len(payload) < MAX_PAYLOAD_BYTES
    data = json.loads(payload)
    assert data["title"] == TEXTS[kind]["en" if language == "en" else "id"][0]
    assert data["url"] == notice.url and data["tag"] == notice.topic


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (201, "sent"),
        (404, "gone"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (400, "failed"),
        (403, "failed"),
        (413, "failed"),
    ],
)
def test_push_service_answers_map_to_outbox_outcomes(status: int, expected: str) -> None:
    assert classify(status, None).status == expected


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert _retry_after_seconds("120", now) == 120
    assert _retry_after_seconds("Thu, 26 Nov 2026 10:05:00 GMT", now) == 300
    assert _retry_after_seconds("soon", now) is None


def test_local_http_endpoints_need_explicit_permission() -> None:
    keys = (
        "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "tBHItJI5svbpez7KI4CCXg",
    )
    with pytest.raises(InvalidInputError):
        check_subscription("http://localhost:8080/push", *keys, allow_local=False)
    check_subscription("http://localhost:8080/push", *keys, allow_local=True)
    with pytest.raises(InvalidInputError):
        check_subscription("http://10.0.0.5/push", *keys, allow_local=True)
