"""The README's first command, as a new user meets it: `pantau demo` on SQLite (and on PostgreSQL)."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.e2e.processes import call, call_text, free_port, pantau_command, start, stop, wait_for, wait_until_healthy
from tests.factories import complaint_body, correction_body, visit_body

pytestmark = pytest.mark.e2e

PPS = "19.71.01.1004"
OTHER_PPS = "19.71.01.1006"


def run_demo_scenario(tmp_path: Path, extra_env: dict[str, str]) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {"PANTAU_INSTANCE_PATH": str(tmp_path / "instance"), "PANTAU_PASSWORD_COST": "10", **extra_env}
    log_path = tmp_path / "demo.log"
    demo = start(pantau_command("demo", "--bind", f"127.0.0.1:{port}"), env, log_path)
    try:
        # The demo comes up and answers its health check.
        health = wait_until_healthy(base_url, demo, log_path)
        assert health["status"] == "ok"
        # A demo PPS officer logs in with the printed credentials.
        status, _, token_body = call(
            base_url, "POST", "/api/v1/auth/token", {"username": "pps_semabung", "password": "demo-pps-2024"}
        )
        assert status == 201
        token = token_body["token"]
        # It submits a visit, a complaint and a correction for its own PPS.
        before = call(base_url, "GET", "/healthz")[2]["last_position"]
        receipts = []
        for path, body in (
            ("/api/v1/visits", visit_body(PPS)),
            ("/api/v1/complaints", complaint_body(PPS)),
            ("/api/v1/corrections", correction_body(PPS)),
        ):
            status, _, answer = call(base_url, "POST", path, body, token)
            assert status == 201, answer
            receipts.append((path, body, answer))
        after = call(base_url, "GET", "/healthz")[2]["last_position"]
        assert after == before + 3
        # Another PPS is out of its scope.
        status, headers, problem = call(base_url, "POST", "/api/v1/visits", visit_body(OTHER_PPS), token)
        assert status == 403 and problem["status"] == 403
        # Replaying every submission gives the original answer and writes nothing.
        for path, body, answer in receipts:
            status, headers, again = call(base_url, "POST", path, body, token)
            assert status == 201 and again == answer and headers.get("Idempotent-Replayed") == "true"
        assert call(base_url, "GET", "/healthz")[2]["last_position"] == after
        # The demo's worker keeps read models current and signs ledger checkpoints beside them.
        assert wait_for(lambda: call(base_url, "GET", "/api/v1/committees", token=token)[2]["items"], 30)
        checkpoint = wait_for(lambda: call_text(base_url, "/api/v1/ledger/checkpoint"), 30)
        assert checkpoint and checkpoint.splitlines()[0] == "pantau.kpu/pangkalpinang"
    finally:
        code = stop(demo, signal.SIGINT)
    assert code == 0, log_path.read_text(errors="replace")
    # The printed demo credentials are what the new user is told to use.
    assert "pps_semabung" in log_path.read_text()


def test_demo_serves_the_api_on_sqlite_and_a_pps_officer_can_report(tmp_path: Path) -> None:
    run_demo_scenario(tmp_path, {"DATABASE_URL": ""})
    assert (tmp_path / "instance" / "pantau.sqlite3").exists()


@pytest.mark.postgres
def test_demo_switches_to_postgresql_with_database_url_alone(tmp_path: Path, postgres_database: str) -> None:
    run_demo_scenario(tmp_path, {"DATABASE_URL": postgres_database})
    assert not (tmp_path / "instance" / "pantau.sqlite3").exists()
