"""Disputes over HTTP on SQLite and PostgreSQL: legal opens and rules, others read, the lifecycle holds."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest

from tests.factories import complaint_body, correction_body, visit_body

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def submit(client: Any, plural: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(f"/api/v1/{plural}", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json["record"]


def dispute_body(*subjects: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "title": "Sengketa netralitas PPS Semabung Lama",
        "summary": "Aduan netralitas dan kunjungan yang bertentangan.",
        "subjects": [{"kind": s["kind"], "id": s["id"]} for s in subjects],
        "device_time": "2026-11-27T09:00:00+07:00",
    }
    body.update(overrides)
    return body


@pytest.fixture
def complaint(client: Any, headers: dict, backend: str) -> dict[str, Any]:
    return submit(client, "complaints", complaint_body(), headers["pps_officer"])


@pytest.fixture
def dispute(client: Any, headers: dict, complaint: dict[str, Any]) -> str:
    """An open dispute over the complaint; its URL."""
    response = client.post("/api/v1/disputes", json=dispute_body(complaint), headers=headers["legal"])
    assert response.status_code == 201, response.json
    return f"/api/v1/disputes/{response.json['record']['id']}"


def test_legal_opens_a_dispute_over_a_complaint_a_visit_and_a_correction(
    client: Any, headers: dict, complaint: dict[str, Any]
) -> None:
    pps = headers["pps_officer"]
    visit = submit(client, "visits", visit_body(), pps)
    correction = submit(client, "corrections", correction_body(), pps)

    response = client.post(
        "/api/v1/disputes", json=dispute_body(complaint, visit, correction), headers=headers["legal"]
    )

    assert response.status_code == 201, response.json
    record = response.json["record"]
    assert (record["kind"], record["status"], record["version"], record["opened_by"]) == ("dispute", "open", 1, "legal")
    assert [s["kind"] for s in record["subjects"]] == ["complaint", "visit", "correction"]
    assert record["committees"] == ["19.71.01.1004"]
    assert response.headers["ETag"] == '"1"'
    assert response.json["position"] > 0


def test_a_dispute_goes_from_open_through_notes_evidence_and_ruling_to_closed_and_is_reopened(
    client: Any, headers: dict, dispute: str, complaint: dict[str, Any]
) -> None:
    legal = headers["legal"]
    # Notes and an uploaded photo go into the case file.
    assert (
        client.post(f"{dispute}/note", json={"expected_version": 1, "text": "Saksi A"}, headers=legal).status_code
        == 200
    )
    sha = hashlib.sha256(PNG).hexdigest()
    assert client.put(f"/api/v1/attachments/{sha}", data=PNG, headers=legal).status_code == 201
    photo = client.post(
        f"{dispute}/evidence", json={"expected_version": 2, "sha256": sha, "description": "Foto"}, headers=legal
    )
    assert photo.status_code == 200, photo.json
    assert photo.json["record"]["evidence"][0]["media_type"] == "image/png"
    # The ruling, then closing with If-Match instead of a body version.
    ruled = client.post(
        f"{dispute}/ruling", json={"expected_version": 3, "outcome": "upheld", "ruling": "Teguran"}, headers=legal
    )
    assert ruled.json["record"]["status"] == "ruled"
    closed = client.post(f"{dispute}/close", json={"reason": "Selesai"}, headers={**legal, "If-Match": '"4"'})
    assert closed.status_code == 200, closed.json
    assert closed.json["record"]["status"] == "closed"
    # An appeal reopens it; the earlier ruling stays in its history.
    reopened = client.post(f"{dispute}/reopen", json={"expected_version": 5, "reason": "Banding"}, headers=legal)

    record = reopened.json["record"]
    assert (record["status"], record["version"], record["ruling"]) == ("reopened", 6, None)
    assert [r["outcome"] for r in record["rulings"]] == ["upheld"]


def test_a_logged_event_can_be_named_as_evidence_by_its_position(
    client: Any, headers: dict, complaint: dict[str, Any], pantau_app: Any
) -> None:
    amended = client.post(
        f"/api/v1/complaints/{complaint['id']}/acknowledge",
        json={"expected_version": 1},
        headers=headers["ppk_officer"],
    )
    dispute = client.post("/api/v1/disputes", json=dispute_body(complaint), headers=headers["legal"]).json["record"]

    response = client.post(
        f"/api/v1/disputes/{dispute['id']}/evidence",
        json={"expected_version": 1, "position": amended.json["position"], "description": "Pengakuan PPK"},
        headers=headers["legal"],
    )

    assert response.status_code == 200, response.json
    item = response.json["record"]["evidence"][0]
    assert (item["kind"], item["aggregate_id"], item["aggregate_version"]) == ("event", complaint["id"], 2)


def test_evidence_naming_a_position_past_the_end_of_the_log_is_refused(
    client: Any, headers: dict, dispute: str
) -> None:
    response = client.post(
        f"{dispute}/evidence", json={"expected_version": 1, "position": 10**9}, headers=headers["legal"]
    )

    assert response.status_code == 422
    assert "position" in response.json["errors"]


def test_evidence_naming_an_attachment_never_uploaded_is_refused(client: Any, headers: dict, dispute: str) -> None:
    response = client.post(
        f"{dispute}/evidence", json={"expected_version": 1, "sha256": "0" * 64}, headers=headers["legal"]
    )

    assert response.status_code == 422
    assert "upload it first" in response.json["detail"]


def test_resending_the_same_dispute_answers_the_original_and_different_content_is_a_conflict(
    client: Any, headers: dict, complaint: dict[str, Any]
) -> None:
    body = dispute_body(complaint)
    first = client.post("/api/v1/disputes", json=body, headers=headers["legal"])

    again = client.post("/api/v1/disputes", json=body, headers=headers["legal"])
    changed = client.post("/api/v1/disputes", json={**body, "title": "Lain"}, headers=headers["legal"])

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (again.json["record"], again.json["position"]) == (first.json["record"], first.json["position"])
    assert changed.status_code == 409


def test_a_dispute_over_a_record_that_does_not_exist_is_refused(client: Any, headers: dict, backend: str) -> None:
    ghost = {"kind": "visit", "id": str(uuid.uuid4())}

    response = client.post("/api/v1/disputes", json=dispute_body(ghost), headers=headers["legal"])

    assert response.status_code == 422
    assert "subjects" in response.json["errors"]


def test_a_dispute_needs_at_least_one_subject(client: Any, headers: dict, backend: str) -> None:
    response = client.post("/api/v1/disputes", json=dispute_body(), headers=headers["legal"])

    assert response.status_code == 422


def test_a_step_the_lifecycle_does_not_allow_is_a_409_that_says_why(client: Any, headers: dict, dispute: str) -> None:
    response = client.post(f"{dispute}/reopen", json={"expected_version": 1, "reason": "x"}, headers=headers["legal"])

    assert response.status_code == 409
    assert response.json["detail"] == "Cannot reopen a dispute that is open; allowed only when closed."


def test_a_step_against_a_stale_version_says_who_changed_it(client: Any, headers: dict, dispute: str) -> None:
    legal = headers["legal"]
    client.post(f"{dispute}/note", json={"expected_version": 1, "text": "Pertama"}, headers=legal)

    stale = client.post(f"{dispute}/note", json={"expected_version": 1, "text": "Kedua"}, headers=legal)

    assert stale.status_code == 409
    assert (stale.json["current_version"], stale.json["changed_by"]) == (2, "legal")


def test_a_step_without_an_expected_version_is_refused(client: Any, headers: dict, dispute: str) -> None:
    response = client.post(f"{dispute}/note", json={"text": "Tanpa versi"}, headers=headers["legal"])

    assert response.status_code == 422


@pytest.mark.parametrize("role", ["auditor", "kpu_admin", "legal"])
def test_auditors_kpu_admins_and_legal_read_a_dispute(client: Any, headers: dict, dispute: str, role: str) -> None:
    response = client.get(dispute, headers=headers[role])

    assert response.status_code == 200
    assert response.json["status"] == "open"


@pytest.mark.parametrize("role", ["pps_officer", "ppk_officer"])
def test_officers_neither_read_nor_open_disputes(
    client: Any, headers: dict, dispute: str, complaint: dict[str, Any], role: str
) -> None:
    assert client.get(dispute, headers=headers[role]).status_code == 403
    assert client.post("/api/v1/disputes", json=dispute_body(complaint), headers=headers[role]).status_code == 403


@pytest.mark.parametrize("role", ["auditor", "kpu_admin"])
def test_readers_cannot_change_a_dispute(client: Any, headers: dict, dispute: str, role: str) -> None:
    response = client.post(f"{dispute}/note", json={"expected_version": 1, "text": "x"}, headers=headers[role])

    assert response.status_code == 403


def test_a_dispute_can_be_read_as_it_was_at_an_earlier_version(client: Any, headers: dict, dispute: str) -> None:
    client.post(f"{dispute}/close", json={"expected_version": 1, "reason": "Dicabut"}, headers=headers["legal"])

    then = client.get(f"{dispute}?version=1", headers=headers["auditor"])

    assert (then.json["status"], then.json["version"]) == ("open", 1)


def test_a_dispute_id_is_not_readable_as_a_complaint_nor_a_complaint_as_a_dispute(
    client: Any, headers: dict, dispute: str, complaint: dict[str, Any]
) -> None:
    dispute_id = dispute.rsplit("/", 1)[-1]

    assert client.get(f"/api/v1/complaints/{dispute_id}", headers=headers["legal"]).status_code == 404
    assert client.get(f"/api/v1/disputes/{complaint['id']}", headers=headers["legal"]).status_code == 404
