"""Lifecycle steps over HTTP: allowed paths, forbidden transitions, stale versions, four eyes, races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest

from tests.factories import complaint_body, correction_body, visit_body


def events_of(pantau_app: Any, record_id: str) -> list[Any]:
    """Every notification in the log written for one record."""
    wanted = UUID(record_id)
    notifications = pantau_app.recorder.select_notifications(start=1, limit=1_000_000)
    return [n for n in notifications if n.originator_id == wanted]


def submit(client: Any, plural: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{plural}", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["record"]


def step(client: Any, path: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(path, json=body, headers=headers)


@pytest.fixture
def complaint(client: Any, headers: dict) -> str:
    """A filed complaint in the PPS officer's own PPS; its URL."""
    record = submit(client, "complaints", complaint_body(), headers["pps_officer"])
    return f"/api/v1/complaints/{record['id']}"


def test_a_complaint_goes_from_filed_through_escalation_to_resolved_and_can_be_reopened(
    client: Any, headers: dict, complaint: str
) -> None:
    ppk = headers["ppk_officer"]
    # The PPK acknowledges, investigates and escalates to legal.
    assert (
        step(client, f"{complaint}/acknowledge", ppk, expected_version=1, note="Diterima").json["record"]["status"]
        == "acknowledged"
    )
    assert step(client, f"{complaint}/investigate", ppk, expected_version=2).json["record"]["status"] == "investigating"
    escalated = step(client, f"{complaint}/escalate", ppk, expected_version=3, target="legal", reason="Butuh kajian")
    assert escalated.status_code == 200
    assert escalated.json["record"]["escalated_to"] == "legal"
    # KPU resolves it; new evidence reopens it.
    resolved = step(client, f"{complaint}/resolve", headers["kpu_admin"], expected_version=4, reason="Teguran tertulis")
    assert (resolved.json["record"]["status"], resolved.json["record"]["outcome"]) == ("resolved", "Teguran tertulis")
    reopened = step(client, f"{complaint}/reopen", ppk, expected_version=5, reason="Bukti baru")
    assert reopened.status_code == 200
    assert reopened.json["record"]["status"] == "reopened"
    assert reopened.headers["ETag"] == '"6"'
    # Anyone who may read sees the whole story at its current version.
    current = client.get(complaint, headers=headers["auditor"])
    assert (current.json["status"], current.json["version"], current.json["last_changed_by"]) == (
        "reopened",
        6,
        "ppk_bukitintan",
    )


def test_a_complaint_can_be_dismissed_from_filed(client: Any, headers: dict, complaint: str) -> None:
    response = step(client, f"{complaint}/dismiss", headers["ppk_officer"], expected_version=1, reason="Bukan wewenang")

    assert response.status_code == 200
    assert response.json["record"]["status"] == "dismissed"


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("investigate", {}),
        ("escalate", {"target": "bawaslu", "reason": "x"}),
        ("resolve", {"reason": "x"}),
        ("reopen", {"reason": "x"}),
    ],
)
def test_a_forbidden_transition_from_filed_is_409_with_a_clear_message(
    action: str, body: dict[str, Any], client: Any, headers: dict, complaint: str, pantau_app: Any
) -> None:
    response = step(client, f"{complaint}/{action}", headers["ppk_officer"], expected_version=1, **body)

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert f"Cannot {action} a complaint that is filed" in response.json["detail"]
    assert len(events_of(pantau_app, complaint.rsplit("/", 1)[1])) == 1


def test_acknowledging_twice_is_409(client: Any, headers: dict, complaint: str) -> None:
    step(client, f"{complaint}/acknowledge", headers["ppk_officer"], expected_version=1)

    response = step(client, f"{complaint}/acknowledge", headers["ppk_officer"], expected_version=2)

    assert response.status_code == 409
    assert "acknowledged" in response.json["detail"]


def test_a_stale_expected_version_is_409_naming_who_changed_it_and_when(
    client: Any, headers: dict, complaint: str
) -> None:
    first = step(client, f"{complaint}/acknowledge", headers["ppk_officer"], expected_version=1)

    response = step(client, f"{complaint}/dismiss", headers["kpu_admin"], expected_version=1, reason="Duplikat")

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert (problem["expected_version"], problem["current_version"]) == (1, 2)
    assert problem["changed_by"] == "ppk_bukitintan"
    assert problem["changed_at"] == first.json["record"]["modified_at"]
    assert "ppk_bukitintan" in problem["detail"]
    assert problem["changed_at"] in problem["detail"]


def test_the_expected_version_may_come_from_if_match(client: Any, headers: dict, complaint: str) -> None:
    etag = client.get(complaint, headers=headers["ppk_officer"]).headers["ETag"]

    accepted = client.post(f"{complaint}/acknowledge", json={}, headers={**headers["ppk_officer"], "If-Match": etag})
    stale = client.post(f"{complaint}/investigate", json={}, headers={**headers["ppk_officer"], "If-Match": etag})

    assert accepted.status_code == 200, accepted.json
    assert accepted.headers["ETag"] == '"2"'
    assert stale.status_code == 409
    assert stale.json["current_version"] == 2


def test_a_weak_if_match_is_accepted_too(client: Any, headers: dict, complaint: str) -> None:
    response = client.post(f"{complaint}/acknowledge", json={}, headers={**headers["ppk_officer"], "If-Match": 'W/"1"'})

    assert response.status_code == 200


def test_a_step_without_any_expected_version_is_422(client: Any, headers: dict, complaint: str) -> None:
    response = client.post(f"{complaint}/acknowledge", json={}, headers=headers["ppk_officer"])

    assert response.status_code == 422
    assert "expected_version" in response.json["errors"]


def test_a_pps_officer_may_not_handle_complaints(client: Any, headers: dict, complaint: str) -> None:
    response = step(client, f"{complaint}/acknowledge", headers["pps_officer"], expected_version=1)

    assert response.status_code == 403


def test_an_officer_may_not_step_a_record_outside_its_scope(client: Any, headers: dict) -> None:
    record = submit(client, "corrections", correction_body(committee="19.71.01.1006"), headers["other_pps_officer"])

    response = step(client, f"/api/v1/corrections/{record['id']}/verify", headers["pps_officer"], expected_version=1)

    assert response.status_code == 403


def test_stepping_an_unknown_record_is_404(client: Any, headers: dict) -> None:
    path = "/api/v1/complaints/00000000-0000-4000-8000-000000000000/acknowledge"

    response = step(client, path, headers["kpu_admin"], expected_version=1)

    assert response.status_code == 404


# --- corrections: four eyes -------------------------------------------------------------------


def test_a_correction_is_verified_by_the_pps_and_approved_by_someone_else(client: Any, headers: dict) -> None:
    record = submit(client, "corrections", correction_body(), headers["pps_officer"])
    path = f"/api/v1/corrections/{record['id']}"

    verified = step(client, f"{path}/verify", headers["pps_officer"], expected_version=1, note="Dokumen cocok")
    approved = step(client, f"{path}/approve", headers["ppk_officer"], expected_version=2, reason="Sesuai PKPU")

    assert verified.json["record"]["verified_by"] == "pps_semabung"
    assert approved.status_code == 200
    assert (approved.json["record"]["status"], approved.json["record"]["decided_by"]) == ("approved", "ppk_bukitintan")


def test_correction_cannot_be_approved_by_its_requester(client: Any, headers: dict, pantau_app: Any) -> None:
    admin = headers["kpu_admin"]
    record = submit(client, "corrections", correction_body(), admin)
    path = f"/api/v1/corrections/{record['id']}"
    step(client, f"{path}/verify", headers["pps_officer"], expected_version=1)

    response = step(client, f"{path}/approve", admin, expected_version=2, reason="Saya sendiri")

    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "requested" in response.json["detail"]
    assert len(events_of(pantau_app, record["id"])) == 2


def test_correction_cannot_be_rejected_by_its_requester(client: Any, headers: dict) -> None:
    record = submit(client, "corrections", correction_body(), headers["ppk_officer"])

    response = step(
        client, f"/api/v1/corrections/{record['id']}/reject", headers["ppk_officer"], expected_version=1, reason="x"
    )

    assert response.status_code == 403


def test_a_correction_cannot_be_approved_before_it_is_verified(client: Any, headers: dict) -> None:
    record = submit(client, "corrections", correction_body(), headers["pps_officer"])

    response = step(
        client, f"/api/v1/corrections/{record['id']}/approve", headers["kpu_admin"], expected_version=1, reason="x"
    )

    assert response.status_code == 409
    assert "Cannot approve a registrationcorrection that is requested" in response.json["detail"]


def test_a_pps_officer_may_not_decide_corrections(client: Any, headers: dict) -> None:
    record = submit(client, "corrections", correction_body(), headers["ppk_officer"])
    path = f"/api/v1/corrections/{record['id']}"
    step(client, f"{path}/verify", headers["ppk_officer"], expected_version=1)

    response = step(client, f"{path}/approve", headers["pps_officer"], expected_version=2, reason="x")

    assert response.status_code == 403


# --- visits: amendments and follow-ups ---------------------------------------------------------


@pytest.fixture
def visit(client: Any, headers: dict) -> str:
    record = submit(client, "visits", visit_body(), headers["pps_officer"])
    return f"/api/v1/visits/{record['id']}"


def test_a_visit_amendment_without_a_reason_is_422(client: Any, headers: dict, visit: str, pantau_app: Any) -> None:
    response = step(client, f"{visit}/amend", headers["pps_officer"], expected_version=1, findings="Diralat")

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert "reason" in response.json["errors"]
    assert len(events_of(pantau_app, visit.rsplit("/", 1)[1])) == 1


def test_a_visit_amendment_with_a_blank_reason_is_422(client: Any, headers: dict, visit: str) -> None:
    response = step(client, f"{visit}/amend", headers["pps_officer"], expected_version=1, findings="x", reason="   ")

    assert response.status_code == 422
    assert "reason" in response.json["errors"]


def test_a_visit_amendment_keeps_the_reason_and_the_original(client: Any, headers: dict, visit: str) -> None:
    response = step(
        client,
        f"{visit}/amend",
        headers["pps_officer"],
        expected_version=1,
        findings="Papan DPT belum ada",
        reason="Salah ketik",
    )

    assert response.status_code == 200
    record = response.json["record"]
    assert record["findings"] == "Papan DPT belum ada"
    assert record["amendments"] == [{"reason": "Salah ketik", "by": "pps_semabung", "version": 2}]
    original = client.get(f"{visit}?version=1", headers=headers["auditor"])
    assert original.json["findings"] == "Papan DPT terpasang di kantor kelurahan."


def test_a_visit_amendment_may_not_replace_the_checklist_with_unknown_items(
    client: Any, headers: dict, visit: str
) -> None:
    response = step(
        client, f"{visit}/amend", headers["pps_officer"], expected_version=1, checklist={"made_up": True}, reason="x"
    )

    assert response.status_code == 422
    assert "checklist" in response.json["errors"]


def test_a_follow_up_is_resolved_once(client: Any, headers: dict, visit: str) -> None:
    first = step(
        client, f"{visit}/resolve-follow-up", headers["pps_officer"], expected_version=1, index=0, resolution="Ramp"
    )
    again = step(
        client, f"{visit}/resolve-follow-up", headers["pps_officer"], expected_version=2, index=0, resolution="x"
    )
    missing = step(
        client, f"{visit}/resolve-follow-up", headers["pps_officer"], expected_version=2, index=5, resolution="x"
    )

    assert first.status_code == 200
    assert first.json["record"]["status"] == "closed"
    assert again.status_code == 409
    assert missing.status_code == 422


# --- races ---------------------------------------------------------------------------------------


def test_fifty_concurrent_steps_against_one_version_let_exactly_one_through(
    backend: str, app: Any, client: Any, headers: dict, complaint: str, pantau_app: Any
) -> None:
    threads = 50
    start = threading.Barrier(threads)

    def acknowledge(_: int) -> int:
        own_client = app.test_client()
        start.wait(timeout=30)
        return step(own_client, f"{complaint}/acknowledge", headers["ppk_officer"], expected_version=1).status_code

    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(acknowledge, range(threads)))

    assert sorted(statuses) == [200] + [409] * (threads - 1), statuses
    assert len(events_of(pantau_app, complaint.rsplit("/", 1)[1])) == 2
