"""Attachments over HTTP on SQLite and PostgreSQL: idempotent content-addressed uploads, type by content,
5 MB per file, and an Attached event on the record carrying only hash, size and type."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from server.domain.attachment import MAX_ATTACHMENT_BYTES, Attached
from tests.factories import complaint_body, correction_body, visit_body

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 200
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
BODIES = {"visits": visit_body, "complaints": complaint_body, "corrections": correction_body}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(client: Any, data: bytes, headers: dict[str, str], content_type: str = "application/octet-stream") -> Any:
    return client.put(f"/api/v1/attachments/{sha(data)}", data=data, headers={**headers, "Content-Type": content_type})


def stored_files(app: Any) -> list[Path]:
    root = app.extensions["pantau.settings"].instance_path / "attachments"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def pps(headers: dict, backend: str) -> dict[str, str]:
    return headers["pps_officer"]


@pytest.fixture
def visit(client: Any, pps: dict[str, str]) -> str:
    response = client.post("/api/v1/visits", json=visit_body(), headers=pps)
    assert response.status_code == 201
    return response.json["record"]["id"]


def test_uploading_the_same_bytes_twice_stores_them_once(client: Any, app: Any, pps: dict[str, str]) -> None:
    first = upload(client, JPEG, pps)
    second = upload(client, JPEG, pps)

    assert first.status_code == 201, first.json
    assert second.status_code == 200
    assert first.json == second.json == {"sha256": sha(JPEG), "size": len(JPEG), "media_type": "image/jpeg"}
    assert first.headers["Location"] == f"/api/v1/attachments/{sha(JPEG)}"
    assert len(stored_files(app)) == 1


def test_posting_bytes_answers_their_hash(client: Any, pps: dict[str, str]) -> None:
    response = client.post("/api/v1/attachments", data=PDF, headers={**pps, "Content-Type": "application/octet-stream"})

    assert response.status_code == 201
    assert response.json == {"sha256": sha(PDF), "size": len(PDF), "media_type": "application/pdf"}


def test_an_upload_whose_bytes_do_not_match_the_hash_in_the_url_is_refused_and_not_stored(
    client: Any, app: Any, pps: dict[str, str]
) -> None:
    response = client.put(f"/api/v1/attachments/{sha(PNG)}", data=JPEG, headers=pps)

    assert response.status_code == 422
    assert sha(JPEG) in response.json["detail"]
    assert stored_files(app) == []


def test_the_type_is_judged_by_content_not_by_the_content_type_header(client: Any, pps: dict[str, str]) -> None:
    png_called_text = upload(client, PNG, pps, content_type="text/plain")
    html_called_jpeg = upload(client, b"<html><script>alert(1)</script></html>", pps, content_type="image/jpeg")

    assert png_called_text.status_code == 201
    assert png_called_text.json["media_type"] == "image/png"
    assert html_called_jpeg.status_code == 415


def test_an_empty_upload_is_not_a_file_we_accept(client: Any, pps: dict[str, str]) -> None:
    assert upload(client, b"", pps).status_code == 415


def test_a_file_of_exactly_five_megabytes_is_accepted_and_one_byte_more_is_413(
    client: Any, pps: dict[str, str]
) -> None:
    largest = b"%PDF-" + b"0" * (MAX_ATTACHMENT_BYTES - 5)

    accepted = upload(client, largest, pps)
    refused = upload(client, largest + b"0", pps)

    assert accepted.status_code == 201, accepted.json
    assert refused.status_code == 413
    assert refused.mimetype == "application/problem+json"


def test_the_five_megabyte_allowance_is_for_uploads_only(client: Any, pps: dict[str, str]) -> None:
    # Valid JSON padded with whitespace to 2 MB: refused for its size before it is parsed.
    padded = b'{"findings": "x"' + b" " * (2 * 1024 * 1024) + b"}"

    response = client.post("/api/v1/visits", data=padded, headers={**pps, "Content-Type": "application/json"})

    assert response.status_code == 413


def test_an_uploaded_file_is_downloaded_with_its_sniffed_type_and_never_rendered_inline(
    client: Any, headers: dict, pps: dict[str, str]
) -> None:
    upload(client, PNG, pps)

    response = client.get(f"/api/v1/attachments/{sha(PNG)}", headers=headers["auditor"])

    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["0" * 64, "not-a-hash"])
def test_an_unknown_attachment_is_404(client: Any, pps: dict[str, str], name: str) -> None:
    assert client.get(f"/api/v1/attachments/{name}", headers=pps).status_code == 404


def test_uploads_need_a_signed_in_role_that_may_upload(client: Any, headers: dict, backend: str) -> None:
    assert client.put(f"/api/v1/attachments/{sha(PNG)}", data=PNG).status_code == 401
    assert upload(client, PNG, headers["auditor"]).status_code == 403


@pytest.mark.parametrize("plural", BODIES)
def test_an_officer_attaches_an_uploaded_file_to_a_record_as_an_attached_event(
    client: Any, pps: dict[str, str], pantau_app: Any, plural: str
) -> None:
    record = client.post(f"/api/v1/{plural}", json=BODIES[plural](), headers=pps).json["record"]
    upload(client, JPEG, pps)

    response = client.post(f"/api/v1/{plural}/{record['id']}/attachments", json={"sha256": sha(JPEG)}, headers=pps)

    assert response.status_code == 201, response.json
    attachment = response.json["record"]["attachments"][0]
    assert (attachment["sha256"], attachment["size"], attachment["media_type"]) == (sha(JPEG), len(JPEG), "image/jpeg")
    assert (attachment["by"], attachment["version"]) == ("pps_semabung", 2)
    # The event itself holds hash, size and type (and the usual context), never the bytes or a file name.
    [notification] = pantau_app.recorder.select_notifications(start=response.json["position"], limit=1)
    event = pantau_app.mapper.to_domain_event(notification)
    assert isinstance(event, Attached)
    assert event.originator_id == UUID(record["id"])
    assert set(vars(event)) - {"originator_id", "originator_version", "timestamp"} == {
        "sha256",
        "size",
        "media_type",
        "context",
    }


def test_resending_an_attachment_answers_the_original_receipt(client: Any, pps: dict[str, str], visit: str) -> None:
    upload(client, PNG, pps)
    first = client.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(PNG)}, headers=pps)

    again = client.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(PNG)}, headers=pps)

    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json["position"] == first.json["position"]
    assert len(again.json["record"]["attachments"]) == 1


def test_attaching_without_a_version_survives_other_changes_but_a_named_stale_version_is_409(
    client: Any, pps: dict[str, str], visit: str
) -> None:
    amended = client.post(
        f"/api/v1/visits/{visit}/amend",
        json={"expected_version": 1, "reason": "Ralat", "findings": "Diralat"},
        headers=pps,
    )
    assert amended.status_code == 200, amended.json
    upload(client, PNG, pps)
    upload(client, PDF, pps)

    stale = client.post(
        f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(PNG), "expected_version": 1}, headers=pps
    )
    unversioned = client.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(PDF)}, headers=pps)

    assert stale.status_code == 409
    assert stale.json["current_version"] == 2
    assert unversioned.status_code == 201
    assert unversioned.json["record"]["version"] == 3


def test_files_attached_to_one_record_at_once_all_land(
    app: Any, client: Any, pps: dict[str, str], visit: str
) -> None:
    # Concurrent saves to one record go in rounds that exactly one wins; every attachment must still land.
    files = [PDF + f"%{i}\n".encode() for i in range(12)]
    for data in files:
        assert upload(client, data, pps).status_code in (200, 201)
    barrier = threading.Barrier(len(files))
    statuses: list[int] = []

    def attach(data: bytes) -> None:
        own = app.test_client()
        barrier.wait(timeout=10)
        answer = own.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(data)}, headers=pps)
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=attach, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [201] * len(files)
    record = client.get(f"/api/v1/visits/{visit}", headers=pps).json
    assert record["version"] == 1 + len(files)


def test_a_file_must_be_uploaded_before_it_is_attached(client: Any, pps: dict[str, str], visit: str) -> None:
    response = client.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": "a" * 64}, headers=pps)

    assert response.status_code == 422
    assert "upload it first" in response.json["detail"]


def test_an_officer_cannot_attach_to_another_committees_record(
    client: Any, headers: dict, pps: dict[str, str], visit: str
) -> None:
    other = headers["other_pps_officer"]
    upload(client, PNG, other)

    response = client.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(PNG)}, headers=other)

    assert response.status_code == 403


@pytest.mark.parametrize("role", ["auditor", "legal"])
def test_readers_and_legal_do_not_attach_files_to_reports(
    client: Any, headers: dict, pps: dict[str, str], visit: str, role: str
) -> None:
    upload(client, PNG, pps)

    response = client.post(f"/api/v1/visits/{visit}/attachments", json={"sha256": sha(PNG)}, headers=headers[role])

    assert response.status_code == 403


def test_attaching_to_a_record_that_does_not_exist_is_404(client: Any, pps: dict[str, str]) -> None:
    upload(client, PNG, pps)

    response = client.post(
        "/api/v1/complaints/00000000-0000-4000-8000-000000000000/attachments", json={"sha256": sha(PNG)}, headers=pps
    )

    assert response.status_code == 404
