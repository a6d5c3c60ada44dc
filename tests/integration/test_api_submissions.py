"""Submitting visits, complaints and corrections: idempotent on the client's id, scoped to committees.

Every test here runs on SQLite and on PostgreSQL through the `backend` fixture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest

from server.demo import ensure_demo_accounts
from server.domain.base import SYSTEM
from tests.conftest import FAR_PPS, OTHER_PPS, PPK, PPS
from tests.factories import complaint_body, correction_body, visit_body

BODIES: dict[str, Callable[..., dict[str, Any]]] = {
    "visits": visit_body,
    "complaints": complaint_body,
    "corrections": correction_body,
}
KIND = {"visits": "visit", "complaints": "complaint", "corrections": "correction"}


def events_of(pantau_app: Any, record_id: str) -> list[Any]:
    """Every notification in the log written for one record."""
    wanted = UUID(record_id)
    notifications = pantau_app.recorder.select_notifications(start=1, limit=1_000_000)
    return [n for n in notifications if n.originator_id == wanted]


@pytest.fixture(autouse=True)
def _both_backends(backend: str) -> str:
    """Make every test in this module run once per backend."""
    return backend


@pytest.fixture
def seeded(pantau_app: Any) -> Any:
    """Only the committees these tests name (a fresh PostgreSQL database per test makes all 49 slow)."""
    for code in (PPK, PPS, OTHER_PPS, "19.71.07", FAR_PPS):
        pantau_app.register_committee(code, f"Committee {code}", SYSTEM)
    ensure_demo_accounts(pantau_app)
    return pantau_app


# Each test covers all three kinds in one instance: a PostgreSQL instance per test is the slow part.


def test_a_first_submission_answers_201_with_the_record_and_its_log_position(
    client: Any, headers: dict, pantau_app: Any
) -> None:
    for plural, make_body in BODIES.items():
        body = make_body()

        response = client.post(f"/api/v1/{plural}", json=body, headers=headers["pps_officer"])

        assert response.status_code == 201, (plural, response.json)
        record = response.json["record"]
        assert (record["id"], record["kind"], record["committee"]) == (body["id"], KIND[plural], PPS)
        assert (record["version"], record["last_changed_by"]) == (1, "pps_semabung")
        assert response.headers["ETag"] == '"1"'
        assert "Idempotent-Replayed" not in response.headers
        [event] = events_of(pantau_app, body["id"])
        assert response.json["position"] == event.id


def test_replaying_the_same_submission_gives_the_original_answer_and_writes_nothing(
    client: Any, headers: dict, pantau_app: Any
) -> None:
    for plural, make_body in BODIES.items():
        body = make_body()
        first = client.post(f"/api/v1/{plural}", json=body, headers=headers["pps_officer"])
        # A retry whose keys arrive in another order is the same submission.
        reordered = dict(reversed(list(body.items())))

        again = client.post(f"/api/v1/{plural}", json=reordered, headers=headers["pps_officer"])

        assert first.status_code == again.status_code == 201, plural
        assert again.json == first.json
        assert again.headers["Idempotent-Replayed"] == "true"
        assert len(events_of(pantau_app, body["id"])) == 1, plural


def test_reusing_an_id_with_a_different_body_is_a_conflict_that_says_so(
    client: Any, headers: dict, pantau_app: Any
) -> None:
    for plural, make_body in BODIES.items():
        body = make_body()
        client.post(f"/api/v1/{plural}", json=body, headers=headers["pps_officer"])
        changed = {**body, "device_time": "2026-11-26T12:34:00+07:00"}

        response = client.post(f"/api/v1/{plural}", json=changed, headers=headers["pps_officer"])

        assert response.status_code == 409, plural
        assert response.mimetype == "application/problem+json"
        assert "different content" in response.json["detail"]
        assert len(events_of(pantau_app, body["id"])) == 1, plural


def test_reusing_a_visit_id_for_a_complaint_is_a_conflict(client: Any, headers: dict, pantau_app: Any) -> None:
    visit = visit_body()
    client.post("/api/v1/visits", json=visit, headers=headers["pps_officer"])

    response = client.post("/api/v1/complaints", json=complaint_body(id=visit["id"]), headers=headers["pps_officer"])

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert len(events_of(pantau_app, visit["id"])) == 1


def test_another_account_replaying_someone_elses_submission_gets_a_conflict_not_their_record(
    client: Any, headers: dict, pantau_app: Any
) -> None:
    body = complaint_body()
    client.post("/api/v1/complaints", json=body, headers=headers["pps_officer"])

    response = client.post("/api/v1/complaints", json=body, headers=headers["ppk_officer"])

    assert response.status_code == 409
    assert "record" not in response.json
    assert len(events_of(pantau_app, body["id"])) == 1


def test_concurrent_first_submissions_of_one_id_write_exactly_one_event(
    app: Any, headers: dict, pantau_app: Any
) -> None:
    body = complaint_body()
    threads = 8
    start = threading.Barrier(threads)

    def submit(_: int) -> tuple[int, Any]:
        own_client = app.test_client()
        start.wait(timeout=30)
        response = own_client.post("/api/v1/complaints", json=body, headers=headers["pps_officer"])
        return response.status_code, response.json

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(submit, range(threads)))

    assert [status for status, _ in answers] == [201] * threads, answers
    assert all(answer == answers[0][1] for _, answer in answers)
    [event] = events_of(pantau_app, body["id"])
    assert answers[0][1]["position"] == event.id


def test_a_pps_officer_may_not_report_for_another_pps(client: Any, headers: dict, pantau_app: Any) -> None:
    for plural, make_body in BODIES.items():
        body = make_body(committee=OTHER_PPS)

        response = client.post(f"/api/v1/{plural}", json=body, headers=headers["pps_officer"])

        assert response.status_code == 403, plural
        assert response.mimetype == "application/problem+json"
        assert OTHER_PPS in response.json["detail"]
        assert events_of(pantau_app, body["id"]) == []


def test_a_pps_officer_may_not_report_for_its_own_ppk(client: Any, headers: dict) -> None:
    response = client.post("/api/v1/complaints", json=complaint_body(committee=PPK), headers=headers["pps_officer"])

    assert response.status_code == 403


def test_reporting_for_an_unknown_committee_is_404(client: Any, headers: dict, pantau_app: Any) -> None:
    for plural, make_body in BODIES.items():
        body = make_body(committee="19.71.09.9999")

        response = client.post(f"/api/v1/{plural}", json=body, headers=headers["kpu_admin"])

        assert response.status_code == 404, plural
        assert response.mimetype == "application/problem+json"
        assert events_of(pantau_app, body["id"]) == []


def test_a_ppk_officer_may_report_for_its_ppk_and_every_pps_under_it(client: Any, headers: dict) -> None:
    for committee in (PPS, OTHER_PPS, PPK):
        response = client.post("/api/v1/visits", json=visit_body(committee=committee), headers=headers["ppk_officer"])

        assert response.status_code == 201, (committee, response.json)


def test_a_ppk_officer_may_not_report_for_a_pps_under_another_ppk(client: Any, headers: dict) -> None:
    response = client.post("/api/v1/visits", json=visit_body(committee=FAR_PPS), headers=headers["ppk_officer"])

    assert response.status_code == 403


def test_readers_may_not_submit_reports(client: Any, headers: dict) -> None:
    for role in ("auditor", "legal"):
        assert client.post("/api/v1/complaints", json=complaint_body(), headers=headers[role]).status_code == 403


def test_the_nik_is_shown_in_full_only_to_kpu_admins_and_legal(client: Any, headers: dict) -> None:
    body = correction_body()
    client.post("/api/v1/corrections", json=body, headers=headers["pps_officer"])
    masked = "*" * 12 + body["nik"][-4:]

    for role, expected in (
        ("pps_officer", masked),
        ("ppk_officer", masked),
        ("auditor", masked),
        ("kpu_admin", body["nik"]),
        ("legal", body["nik"]),
    ):
        response = client.get(f"/api/v1/corrections/{body['id']}", headers=headers[role])

        assert response.status_code == 200, (role, response.json)
        assert response.json["nik"] == expected, role


def test_the_nik_is_masked_in_the_submission_answer_to_a_pps_officer(client: Any, headers: dict) -> None:
    body = correction_body()

    response = client.post("/api/v1/corrections", json=body, headers=headers["pps_officer"])

    assert body["nik"] not in response.get_data(as_text=True)


def test_a_pps_officer_cannot_read_another_pps_records(client: Any, headers: dict) -> None:
    body = complaint_body(committee=OTHER_PPS)
    client.post("/api/v1/complaints", json=body, headers=headers["other_pps_officer"])

    response = client.get(f"/api/v1/complaints/{body['id']}", headers=headers["pps_officer"])

    assert response.status_code == 403


def test_reading_an_unknown_record_is_404_and_a_record_of_another_kind_too(client: Any, headers: dict) -> None:
    body = visit_body()
    client.post("/api/v1/visits", json=body, headers=headers["pps_officer"])

    unknown = client.get("/api/v1/visits/00000000-0000-4000-8000-000000000000", headers=headers["kpu_admin"])
    wrong_kind = client.get(f"/api/v1/complaints/{body['id']}", headers=headers["kpu_admin"])

    assert unknown.status_code == wrong_kind.status_code == 404


def test_a_record_can_be_read_as_it_was_at_an_earlier_version(client: Any, headers: dict) -> None:
    body = complaint_body()
    client.post("/api/v1/complaints", json=body, headers=headers["pps_officer"])
    client.post(
        f"/api/v1/complaints/{body['id']}/acknowledge", json={"expected_version": 1}, headers=headers["ppk_officer"]
    )

    then = client.get(f"/api/v1/complaints/{body['id']}?version=1", headers=headers["auditor"])
    now = client.get(f"/api/v1/complaints/{body['id']}", headers=headers["auditor"])

    assert (then.json["status"], then.json["version"]) == ("filed", 1)
    assert (now.json["status"], now.json["version"]) == ("acknowledged", 2)
    assert now.headers["ETag"] == '"2"'


def test_reading_a_version_the_record_never_had_is_404(client: Any, headers: dict) -> None:
    body = complaint_body()
    client.post("/api/v1/complaints", json=body, headers=headers["pps_officer"])

    response = client.get(f"/api/v1/complaints/{body['id']}?version=7", headers=headers["auditor"])

    assert response.status_code == 404
