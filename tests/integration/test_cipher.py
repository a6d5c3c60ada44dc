"""Personal data at rest: with PANTAU_CIPHER_KEY set, the stored event bytes hold neither a NIK nor a name,
while the API, the projection worker and the ledger still read them. SQLite, where the raw rows are at hand."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from server.cipher import CipherKeyError, generate_cipher_key
from server.cli import cli
from server.config import Settings, load_settings
from server.domain.base import SYSTEM
from server.domain.committee import Committee
from server.services import build_application
from tests.factories import correction_body

KEY = generate_cipher_key()
NIK = "1971014403900007"
NAME = "Siti Aminah"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Every fixture of this module (app, seeded, headers, worker) runs on an encrypted store."""
    return Settings(instance_path=tmp_path / "instance", cipher_key=KEY)


def stored_states(settings: Settings, record_id: str | None = None) -> list[bytes]:
    """The raw `state` column, as a thief holding a copy of the database file would read it."""
    with sqlite3.connect(settings.sqlite_path) as db:
        rows = db.execute("SELECT originator_id, state FROM stored_events").fetchall()
    return [bytes(state) for originator, state in rows if record_id is None or UUID(str(originator)) == UUID(record_id)]


def request_correction(client: Any, headers: dict) -> str:
    response = client.post(
        "/api/v1/corrections", json=correction_body(nik=NIK, full_name=NAME), headers=headers["pps_officer"]
    )
    assert response.status_code == 201, response.json
    return response.json["record"]["id"]


def test_a_corrections_stored_bytes_contain_neither_the_nik_nor_the_name(
    client: Any, headers: dict, settings: Settings
) -> None:
    record_id = request_correction(client, headers)

    states = stored_states(settings, record_id)

    assert states, "the correction's event is stored"
    for state in states:
        assert NIK.encode() not in state
        assert NAME.encode() not in state
        assert b"nik" not in state, "field names are encrypted too"
    assert not any(NIK.encode() in state for state in stored_states(settings)), "nor anywhere else in the log"


def test_the_api_still_answers_the_nik_and_name_to_those_entitled(
    client: Any, headers: dict, settings: Settings
) -> None:
    record_id = request_correction(client, headers)

    as_admin = client.get(f"/api/v1/corrections/{record_id}", headers=headers["kpu_admin"])
    as_officer = client.get(f"/api/v1/corrections/{record_id}", headers=headers["pps_officer"])

    assert (as_admin.json["nik"], as_admin.json["full_name"]) == (NIK, NAME)
    assert as_officer.json["nik"] == "************0007"


def test_the_projection_worker_reads_the_encrypted_log(client: Any, headers: dict, worker: Any) -> None:
    request_correction(client, headers)

    worker.catch_up()

    assert worker.application.recorder.max_notification_id() >= 1


def test_the_verifiable_log_is_built_and_verified_over_encrypted_events(
    runner: Any, client: Any, headers: dict
) -> None:
    request_correction(client, headers)

    checkpoint = runner.invoke(cli, ["ledger", "checkpoint"])
    verified = runner.invoke(cli, ["ledger", "verify"])

    assert checkpoint.exit_code == 0, checkpoint.output
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.output


def test_without_a_key_names_are_stored_in_clear_so_the_check_above_can_fail(tmp_path: Path) -> None:
    plain = Settings(instance_path=tmp_path / "plain")
    application = build_application(plain)
    try:
        application.save(Committee(code="19.71.01", kind="PPK", name=NAME, parent=None, context=SYSTEM.as_event_data()))
    finally:
        application.close()

    assert any(NAME.encode() in state for state in stored_states(plain))


def test_a_store_written_under_one_key_cannot_be_read_under_another(
    client: Any, headers: dict, settings: Settings
) -> None:
    record_id = request_correction(client, headers)
    other = build_application(Settings(instance_path=settings.instance_path, cipher_key=generate_cipher_key()))
    try:
        with pytest.raises(ValueError, match="cipher"):
            other.repository.get(UUID(record_id))
    finally:
        other.close()


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"short").decode()], ids=["not base64", "wrong size"])
def test_an_unusable_key_is_refused_without_repeating_it(tmp_path: Path, key: str) -> None:
    with pytest.raises(CipherKeyError) as refused:
        Settings(instance_path=tmp_path, cipher_key=key).eventstore_env()

    assert key not in str(refused.value)


def test_the_key_comes_from_pantau_cipher_key_and_stays_out_of_the_settings_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANTAU_CIPHER_KEY", KEY)

    loaded = load_settings(tmp_path)

    assert loaded.eventstore_env()["CIPHER_KEY"] == KEY
    assert loaded.eventstore_env()["CIPHER_TOPIC"] == "eventsourcing.cryptography:AESCipher"
    assert KEY not in repr(loaded)


def test_keys_generate_cipher_key_prints_a_new_32_byte_key_each_time(runner: Any) -> None:
    first = runner.invoke(cli, ["keys", "generate-cipher-key"])
    second = runner.invoke(cli, ["keys", "generate-cipher-key"])

    assert first.exit_code == 0, first.output
    assert len(base64.b64decode(first.output.strip(), validate=True)) == 32
    assert first.output != second.output
