"""Case files on SQLite and PostgreSQL: exported, checked by their own verify.py offline, and caught when tampered.

verify.py always runs in a subprocess from the extracted folder, with nothing of the repository importable,
as a court's expert would run it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.casefile.commands import export as export_commands
from server.cipher import generate_cipher_key
from server.config import Settings
from server.ledger.checkpoint import verifier_key_string
from server.ledger.service import open_ledger
from tests.factories import complaint_body, correction_body
from tests.integration.ledger_support import RawEvents

NIK = "1971014403900007"
FULL_NAME = "Siti Aminah"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 200
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
CORRECTION = "server.domain.correction:RegistrationCorrection.Requested"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def post(client: Any, url: str, body: dict[str, Any], headers: dict[str, str], status: int = 200) -> dict[str, Any]:
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == status, response.json
    return response.json


@pytest.fixture
def case(client: Any, headers: dict, backend: str) -> dict[str, Any]:
    """A dispute over a complaint (acknowledged) and a correction with a photo; a note, a PDF, an event as evidence."""
    pps, legal = headers["pps_officer"], headers["legal"]
    complaint = post(client, "/api/v1/complaints", complaint_body(), pps, 201)
    acknowledged = post(
        client, f"/api/v1/complaints/{complaint['record']['id']}/acknowledge", {"expected_version": 1},
        headers["ppk_officer"],
    )
    correction = post(client, "/api/v1/corrections", correction_body(nik=NIK, full_name=FULL_NAME), pps, 201)
    correction_id = correction["record"]["id"]
    assert client.put(f"/api/v1/attachments/{sha(PNG)}", data=PNG, headers=pps).status_code == 201
    post(client, f"/api/v1/corrections/{correction_id}/attachments", {"sha256": sha(PNG)}, pps, 201)
    subjects = [{"kind": "complaint", "id": complaint["record"]["id"]}, {"kind": "correction", "id": correction_id}]
    dispute_id = str(uuid.uuid4())
    post(client, "/api/v1/disputes", {"id": dispute_id, "title": "Sengketa DPTb", "subjects": subjects}, legal, 201)
    url = f"/api/v1/disputes/{dispute_id}"
    post(client, f"{url}/note", {"expected_version": 1, "text": "Saksi menyatakan hadir."}, legal)
    assert client.put(f"/api/v1/attachments/{sha(PDF)}", data=PDF, headers=legal).status_code == 201
    post(client, f"{url}/evidence", {"expected_version": 2, "sha256": sha(PDF), "description": "Surat"}, legal)
    evidence = {"expected_version": 3, "position": acknowledged["position"], "description": "Pengakuan PPK"}
    post(client, f"{url}/evidence", evidence, legal)
    return {"dispute": dispute_id, "complaint_position": complaint["position"], "url": url}


def export(runner: Any, dispute_id: str, target: Path, role: str = "legal") -> Path:
    """`pantau export case`, then the ZIP extracted beside it; returns the folder."""
    result = runner.invoke(export_commands, ["case", dispute_id, "-o", str(target), "--role", role])
    assert result.exit_code == 0, result.output
    folder = target.with_suffix("")
    with zipfile.ZipFile(target) as archive:
        archive.extractall(folder)
    return folder


def verify(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The bundled verify.py, run from its folder: nothing importable but the standard library and cryptography."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "verify.py", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )


def events_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "events.json").read_text())


def rewrite_events(folder: Path, document: dict[str, Any]) -> None:
    (folder / "events.json").write_text(json.dumps(document, ensure_ascii=False))


def test_a_case_file_holds_every_related_event_and_attachment_and_its_verify_py_passes(
    runner: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    folder = export(runner, case["dispute"], tmp_path / "case.zip")

    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"manifest.json", "checkpoint.txt", "verifier-key.txt", "events.json", "consistency.json",
            "report.html", "verify.py", "BACA-SAYA.txt"} <= names
    assert {f"attachments/{sha(PNG)}.png", f"attachments/{sha(PDF)}.pdf"} <= names
    topics = [e["topic"].rpartition(":")[2] for e in events_of(folder)["events"]]
    # The dispute's four events, the complaint's two, the correction's two; the evidence event is the complaint's.
    assert sorted(topics) == sorted([
        "Dispute.Opened", "Dispute.NoteAdded", "Dispute.EvidenceAttached", "Dispute.EvidenceAttached",
        "Complaint.Filed", "Complaint.Acknowledged", "RegistrationCorrection.Requested", "Attached",
    ])
    assert NIK in (folder / "report.html").read_text()  # legal is entitled to the whole NIK
    assert "<script" not in (folder / "report.html").read_text()
    result = verify(folder, "--verbose")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VERDICT: OK" in result.stdout
    assert f"ok    attachment {sha(PDF)}" in result.stdout


def test_an_auditors_case_file_withholds_the_nik_everywhere_and_still_verifies(
    runner: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "auditor.zip"
    folder = export(runner, case["dispute"], target, role="auditor")

    with zipfile.ZipFile(target) as archive:
        contents = [target.read_bytes(), *(archive.read(name) for name in archive.namelist())]
    for secret in (NIK.encode(), NIK[:12].encode(), FULL_NAME.encode()):
        assert not any(secret in data for data in contents), secret
    requested = next(e for e in events_of(folder)["events"] if e["topic"] == CORRECTION)
    assert requested["fields"]["nik"].keys() == {"withheld", "commitment"}
    assert "************0007 (disembunyikan)" in (folder / "report.html").read_text()
    result = verify(folder)
    assert result.returncode == 0, result.stdout
    assert "VERDICT: OK" in result.stdout


def test_changing_one_byte_of_an_event_value_in_the_case_file_fails_naming_the_event(
    runner: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    folder = export(runner, case["dispute"], tmp_path / "case.zip")
    document = events_of(folder)
    requested = next(e for e in document["events"] if e["topic"] == CORRECTION)
    requested["fields"]["tps"]["value"] = "TPS 004"  # was TPS 003
    rewrite_events(folder, document)

    result = verify(folder)

    assert result.returncode == 1
    assert f"FAIL  event at position {requested['position']} (RegistrationCorrection.Requested" in result.stdout
    assert "VERDICT: FAILED" in result.stdout


def test_dropping_an_event_from_the_case_file_fails_naming_the_missing_version(
    runner: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    folder = export(runner, case["dispute"], tmp_path / "case.zip")
    document = events_of(folder)
    requested = next(e for e in document["events"] if e["topic"] == CORRECTION)
    document["events"].remove(requested)
    rewrite_events(folder, document)

    result = verify(folder)

    assert result.returncode == 1
    assert f"correction {requested['originator_id']} lacks version(s) 1 (an event was removed)" in result.stdout


def test_altering_an_attachment_in_the_case_file_fails_naming_it(
    runner: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    folder = export(runner, case["dispute"], tmp_path / "case.zip")
    photo = folder / "attachments" / f"{sha(PNG)}.png"
    photo.write_bytes(photo.read_bytes()[:-1] + b"\x02")

    result = verify(folder)

    assert result.returncode == 1
    assert f"FAIL  attachments/{sha(PNG)}.png: its content's SHA-256 is" in result.stdout


def test_an_untampered_log_extends_every_checkpoint_published_before_the_export(
    runner: Any, client: Any, headers: dict, case: dict[str, Any], settings: Settings, seeded: Any, tmp_path: Path
) -> None:
    ledger = open_ledger(settings, seeded)
    try:
        trusted = ledger.follower.checkpoint_now()
    finally:
        ledger.close()
    (tmp_path / "trusted.txt").write_text(trusted.note)
    post(client, f"{case['url']}/note", {"expected_version": 4, "text": "Sidang ditunda."}, headers["legal"])

    folder = export(runner, case["dispute"], tmp_path / "later.zip")
    result = verify(folder, "--verbose", "--trusted", str(tmp_path / "trusted.txt"))

    assert result.returncode == 0, result.stdout
    assert f"ok    consistency from the checkpoint of size {trusted.tree_size} to" in result.stdout
    assert "extends the trusted checkpoint" in result.stdout


def test_a_reader_who_trusts_another_key_rejects_the_case_file(
    runner: Any, case: dict[str, Any], tmp_path: Path
) -> None:
    folder = export(runner, case["dispute"], tmp_path / "case.zip")
    other = verifier_key_string("pantau.kpu/pangkalpinang", Ed25519PrivateKey.generate().public_key())

    result = verify(folder, "--key", other)

    assert result.returncode == 1
    assert "FAIL  verifier-key.txt is not the key given with --key" in result.stdout
    assert "FAIL  checkpoint.txt signature: the checkpoint carries no signature by" in result.stdout


def test_a_case_file_exported_after_tampering_with_the_store_fails_against_a_checkpoint_published_before(
    runner: Any, client: Any, headers: dict, case: dict[str, Any], settings: Settings, seeded: Any, tmp_path: Path
) -> None:
    # A reader (a court, a witness) keeps a checkpoint published while the log was intact.
    ledger = open_ledger(settings, seeded)
    try:
        (tmp_path / "trusted.txt").write_text(ledger.follower.checkpoint_now().note)
    finally:
        ledger.close()
    # The log grows honestly...
    post(client, f"{case['url']}/note", {"expected_version": 4, "text": "Sidang ditunda."}, headers["legal"])
    # ...then someone with database access rewrites the complaint's description in the event table.
    raw = RawEvents(settings)
    position = case["complaint_position"]
    state = raw.row(position)[3]
    assert b"kampanye" in state
    raw.set_state(position, state.replace(b"kampanye", b"kampanyE"))

    folder = export(runner, case["dispute"], tmp_path / "after.zip")
    result = verify(folder, "--trusted", str(tmp_path / "trusted.txt"))

    assert result.returncode == 1, result.stdout
    assert f"FAIL  event at position {position} (Complaint.Filed" in result.stdout
    assert "its content is not what the log holds" in result.stdout
    assert "VERDICT: FAILED" in result.stdout


def test_rebuilding_the_ledger_over_a_tampered_store_passes_alone_but_not_against_a_trusted_checkpoint(
    runner: Any, client: Any, headers: dict, case: dict[str, Any], settings: Settings, seeded: Any, tmp_path: Path
) -> None:
    ledger = open_ledger(settings, seeded)
    try:
        (tmp_path / "trusted.txt").write_text(ledger.follower.checkpoint_now().note)
        post(client, f"{case['url']}/note", {"expected_version": 4, "text": "Sidang ditunda."}, headers["legal"])
        raw = RawEvents(settings)
        position = case["complaint_position"]
        raw.set_state(position, raw.row(position)[3].replace(b"kampanye", b"kampanyE"))
        # An insider with the signing key also empties the ledger: it is rebuilt and re-signed from the altered store.
        with ledger.store.db.transaction(write=True) as cur:
            cur.execute("DELETE FROM ledger_leaves")
            cur.execute("DELETE FROM ledger_checkpoints")
    finally:
        ledger.close()

    folder = export(runner, case["dispute"], tmp_path / "forged.zip")
    alone = verify(folder)
    against_trusted = verify(folder, "--trusted", str(tmp_path / "trusted.txt"))

    # Internally consistent: only a checkpoint held from before can expose it.
    assert alone.returncode == 0, alone.stdout
    assert against_trusted.returncode == 1, against_trusted.stdout
    assert "FAIL  the case file's log extends the trusted checkpoint: the case file has no consistency proof" in (
        against_trusted.stdout
    )


def test_legal_downloads_the_case_file_over_the_api_and_other_roles_are_refused(
    client: Any, headers: dict, case: dict[str, Any], tmp_path: Path
) -> None:
    response = client.get(f"{case['url']}/case-file", headers=headers["legal"])

    assert response.status_code == 200, response.json
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == f'attachment; filename="berkas-perkara-{case["dispute"]}.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        archive.extractall(tmp_path / "api")
    assert verify(tmp_path / "api").returncode == 0
    for role in ("auditor", "kpu_admin", "pps_officer", "ppk_officer"):
        assert client.get(f"{case['url']}/case-file", headers=headers[role]).status_code == 403, role
    assert client.get(f"{case['url']}/case-file").status_code == 401
    unknown = client.get(f"/api/v1/disputes/{uuid.uuid4()}/case-file", headers=headers["legal"])
    assert unknown.status_code == 404


class TestOnAnEncryptedStore:
    @pytest.fixture
    def settings(self, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
        """Event contents encrypted at rest (PANTAU_CIPHER_KEY), on each backend."""
        postgres = request.getfixturevalue("backend") == "postgres"
        database_url = request.getfixturevalue("postgres_database") if postgres else None
        key = generate_cipher_key()
        return Settings(instance_path=tmp_path / "instance", database_url=database_url, cipher_key=key)

    def test_an_auditors_case_file_verifies_without_the_cipher_key_and_without_the_nik(
        self, runner: Any, case: dict[str, Any], tmp_path: Path
    ) -> None:
        target = tmp_path / "auditor.zip"
        folder = export(runner, case["dispute"], target, role="auditor")

        with zipfile.ZipFile(target) as archive:
            assert not any(NIK.encode() in archive.read(name) for name in archive.namelist())
        result = verify(folder)
        assert result.returncode == 0, result.stdout
