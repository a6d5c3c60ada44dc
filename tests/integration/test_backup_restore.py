"""`pantau backup` while reports keep arriving, `pantau restore` into a fresh instance, and the checks after it."""

from __future__ import annotations

import json
import tarfile
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from projections.db import Database
from projections.dump import dump
from projections.worker import Worker
from server.backup import read_manifest
from server.config import Settings
from server.domain.base import Context
from server.services import build_application
from server.worker_process import build_worker
from tests.conftest import PASSWORDS, PPS, invoke_cli
from tests.factories import complaint_body, visit_body


class Ingest(threading.Thread):
    """A PPS officer submitting through the application service until told to stop."""

    def __init__(self, application: Any) -> None:
        super().__init__(daemon=True)
        issued = application.issue_token(
            "pps_semabung", PASSWORDS["pps_semabung"], timedelta(hours=1), Context("x", "none")
        )
        self.application, self.actor = application, issued.actor
        self.count = 0
        self.progress = threading.Condition()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                body = visit_body(PPS) if self.count % 2 else complaint_body(PPS)
                context = Context(self.actor.username, self.actor.role, submission_id=body["id"])
                command = self.application.record_visit if self.count % 2 else self.application.file_complaint
                command(self.actor, body, context)
                with self.progress:
                    self.count += 1
                    self.progress.notify_all()
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def wait_for(self, count: int) -> None:
        with self.progress:
            assert self.progress.wait_for(lambda: self.count >= count or self.error is not None, timeout=30)


def follow(settings: Settings, stop: threading.Event) -> None:
    background = build_worker(settings)
    try:
        background.run_forever(stop=stop.is_set, idle_seconds=0.01)
    finally:
        background.application.close()
        background.db.close()


def notifications(settings: Settings, stop: int | None = None) -> list[tuple[Any, ...]]:
    application = build_application(settings)
    try:
        found = application.recorder.select_notifications(start=1, limit=1_000_000, stop=stop)
        return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in found]
    finally:
        application.close()


def test_a_backup_taken_during_ingest_restores_into_a_fresh_instance_that_verifies(
    settings: Settings, seeded: Any, worker: Worker, tmp_path: Path
) -> None:
    archive = tmp_path / "backups" / "pantau.tar.gz"
    assert invoke_cli(settings, "ledger", "checkpoint").exit_code == 0
    ingest = Ingest(seeded)
    projecting = threading.Event()
    # A projection worker of its own runs too, so the read models move while they are copied.
    follower = threading.Thread(target=follow, args=(settings, projecting), daemon=True)
    ingest.start()
    follower.start()
    try:
        ingest.wait_for(20)
        result = invoke_cli(settings, "backup", "-o", str(archive), "--include-keys")
        assert result.exit_code == 0, result.output
        after_backup = ingest.count
        ingest.wait_for(after_backup + 20)
    finally:
        ingest.stop.set()
        projecting.set()
        ingest.join(timeout=30)
        follower.join(timeout=30)
    assert ingest.error is None, ingest.error
    manifest = read_manifest(archive)
    last = manifest["last_position"]
    assert f"up to position {last}" in result.output
    with tarfile.open(archive) as tar:  # keys were asked for; the writers' lock file is not a key
        assert not [name for name in tar.getnames() if name.endswith(".writer")]
    assert seeded.recorder.max_notification_id() > last  # ingest went on after the snapshot

    # Restore into a fresh instance.
    restored = Settings(instance_path=tmp_path / "restored" / "instance")
    result = invoke_cli(restored, "restore", str(archive))
    assert result.exit_code == 0, result.output
    # Every event up to the recorded position is there, byte for byte, and nothing after it.
    assert notifications(restored) == notifications(settings, stop=last)
    assert len(notifications(restored)) == manifest["events"]
    # The restored read models, caught up by the worker, equal a rebuild from zero of the restored log.
    restored_worker = build_worker(restored)
    clean = Worker(restored_worker.application, Database(sqlite_path=tmp_path / "clean.sqlite3"))
    try:
        restored_worker.catch_up()
        clean.catch_up()
        assert restored_worker.positions() == clean.positions()
        assert set(clean.positions().values()) == {last}
        assert dump(restored_worker.db, restored_worker.views) == dump(clean.db, clean.views)
    finally:
        restored_worker.application.close()
        restored_worker.db.close()
        clean.db.close()
    # The evidence ledger of the restored instance verifies against its events and checkpoints.
    verified = invoke_cli(restored, "ledger", "verify")
    assert verified.exit_code == 0, verified.output
    assert "OK" in verified.output


def test_restore_refuses_a_non_empty_instance_unless_forced(settings: Settings, seeded: Any, tmp_path: Path) -> None:
    archive = tmp_path / "pantau.tar.gz"
    assert invoke_cli(settings, "backup", "-o", str(archive)).exit_code == 0
    before = seeded.recorder.max_notification_id()
    refused = invoke_cli(settings, "restore", str(archive))
    assert refused.exit_code != 0 and "not empty" in refused.output and "--force" in refused.output
    forced = invoke_cli(settings, "restore", str(archive), "--force")
    assert forced.exit_code == 0, forced.output
    assert notifications(settings)[-1][0] == before


def test_a_tampered_archive_is_refused_and_nothing_is_written(settings: Settings, seeded: Any, tmp_path: Path) -> None:
    archive = tmp_path / "pantau.tar.gz"
    assert invoke_cli(settings, "backup", "-o", str(archive)).exit_code == 0
    # Rewrite the archive with one byte of the event store changed, manifest untouched.
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    store = unpacked / "pantau.sqlite3"
    data = bytearray(store.read_bytes())
    data[-100] ^= 0xFF
    store.write_bytes(bytes(data))
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as tar:
        for path in sorted(unpacked.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=path.relative_to(unpacked).as_posix())
    fresh = Settings(instance_path=tmp_path / "fresh")
    result = invoke_cli(fresh, "restore", str(tampered))
    assert result.exit_code != 0 and "does not match its manifest" in result.output
    assert not any(fresh.instance_path.iterdir())
    assert json.loads((unpacked / "manifest.json").read_text())["keys_included"] is False


@pytest.mark.postgres
def test_backup_on_postgres_runs_pg_dump(postgres_database: str, tmp_path: Path) -> None:
    settings = Settings(instance_path=tmp_path / "instance", database_url=postgres_database)
    application = build_application(settings)
    application.register_committee("19.71.01", "Bukit Intan", Context("system", "system"))
    application.close()
    output = tmp_path / "pantau.dump"
    result = invoke_cli(settings, "backup", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert output.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert "pg_restore" in result.output and "PGPASSWORD" not in result.output
