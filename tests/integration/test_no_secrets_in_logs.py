"""No token, password or NIK reaches a log line; every kind of response carries the security headers.

The scenario runs through the Flask test client with every logger at DEBUG (including the library's and
psycopg's), and once more through real gunicorn with its access log on, reading its output.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.app import create_app
from server.config import Settings
from tests.conftest import OTHER_PPS, PASSWORDS, PPS
from tests.factories import complaint_body, correction_body, visit_body

NIK = "1971015512880003"  # a well-formed NIK used nowhere else in the tests
BAD_NIK = "19710155128800"  # 14 digits: refused with 422, must not be logged either
WRONG_PASSWORD = "Salah-Sandi-9876"
Send = Callable[..., tuple[int, dict[str, str], Any]]


def run_scenario(send: Send) -> list[str]:
    """A day in the field, errors included; returns every secret that went over the wire."""
    secrets = [WRONG_PASSWORD, *PASSWORDS.values(), NIK, NIK[:12], BAD_NIK, BAD_NIK[:12]]

    def login(username: str) -> str:
        status, _, body = send("POST", "/api/v1/auth/token", {"username": username, "password": PASSWORDS[username]})
        assert status == 201, body
        secrets.extend([body["token"], body["token"].partition(".")[2]])
        return body["token"]

    # A failed login with a wrong password, then the right one.
    status, _, _ = send("POST", "/api/v1/auth/token", {"username": "pps_semabung", "password": WRONG_PASSWORD})
    assert status == 401
    pps, ppk = login("pps_semabung"), login("ppk_bukitintan")
    # Submissions, one of them a correction carrying the NIK, each sent twice (the retry replays).
    receipts = {}
    for path, body in (
        ("/api/v1/visits", visit_body(PPS)),
        ("/api/v1/complaints", complaint_body(PPS)),
        ("/api/v1/corrections", correction_body(PPS, nik=NIK)),
    ):
        for _ in range(2):
            status, _, answer = send("POST", path, body, pps)
            assert status == 201, answer
        receipts[path] = answer["record"]
    # Errors: a bad NIK (422), the same id with another body (409), out of scope (403), unknown (404), no token.
    assert send("POST", "/api/v1/corrections", correction_body(PPS, nik=BAD_NIK), pps)[0] == 422
    reused = correction_body(PPS, id=receipts["/api/v1/corrections"]["id"], nik=NIK, full_name="Lain")
    assert send("POST", "/api/v1/corrections", reused, pps)[0] == 409
    assert send("POST", "/api/v1/corrections", correction_body(OTHER_PPS, nik=NIK), pps)[0] == 403
    assert send("GET", "/api/v1/complaints/00000000-0000-4000-8000-000000000000", None, pps)[0] == 404
    assert send("GET", "/api/v1/me", None, pps + "x")[0] == 401
    # Lifecycle steps by the PPS and its PPK; reading the correction back.
    correction_id = receipts["/api/v1/corrections"]["id"]
    complaint_id = receipts["/api/v1/complaints"]["id"]
    steps = (
        (pps, f"/api/v1/corrections/{correction_id}/verify", {"expected_version": 1, "note": "Dicek di lapangan"}),
        (ppk, f"/api/v1/corrections/{correction_id}/approve", {"expected_version": 2, "reason": "Sesuai"}),
        (ppk, f"/api/v1/complaints/{complaint_id}/acknowledge", {"expected_version": 1}),
    )
    for token, path, body in steps:
        status, _, answer = send("POST", path, body, token)
        assert status == 200, (path, answer)
    assert send("GET", f"/api/v1/corrections/{correction_id}", None, ppk)[0] == 200
    # A stale transition (409) and logging out.
    assert send("POST", f"/api/v1/complaints/{complaint_id}/investigate", {"expected_version": 1}, ppk)[0] == 409
    assert send("DELETE", "/api/v1/auth/token", None, pps)[0] == 204
    return secrets


def leaked(text: str, secrets: list[str]) -> list[str]:
    return sorted({secret for secret in secrets if secret in text})


def test_a_full_scenario_logs_no_token_password_or_nik(
    client: Any, worker: Any, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    def send(method: str, path: str, body: Any, token: str | None = None) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = client.open(path, method=method, json=body, headers=headers)
        return response.status_code, dict(response.headers), response.get_json(silent=True)

    # Every logger the process has, the library's and the driver's included, at DEBUG.
    for name in ("", "server", "projections", "eventsourcing", "psycopg", "werkzeug", "gunicorn"):
        caplog.set_level(logging.DEBUG, logger=name)
    logging.getLogger("server.canary").debug("canary")
    secrets = run_scenario(send)
    worker.catch_up()
    lines = caplog.text + "\n".join(record.getMessage() for record in caplog.records)
    assert "canary" in caplog.text, "the capture is not working"
    assert leaked(lines, secrets) == []
    assert not re.search(r"\b\d{12,16}\b", "\n".join(r.getMessage() for r in caplog.records)), "a NIK-like number"


# --- security headers ---------------------------------------------------------------------------


def check_headers(response: Any, https: bool = False) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert ("Strict-Transport-Security" in headers) is https, (response.request.path, https)


def every_kind_of_response(client: Any, token: str, base_url: str) -> list[Any]:
    auth = {"Authorization": f"Bearer {token}"}
    responses = [
        client.get("/api/v1/me", headers=auth, base_url=base_url),  # API JSON
        client.get("/api/v1/me", base_url=base_url),  # 401 problem+json
        client.post("/api/v1/visits", json={"id": "x"}, headers=auth, base_url=base_url),  # 422
        client.get("/api/v1/no-such-route", headers=auth, base_url=base_url),  # API 404
        client.delete("/healthz", base_url=base_url),  # 405
        client.get("/", base_url=base_url),  # the PWA shell
        client.get("/sw.js", base_url=base_url),
        client.get("/manifest.webmanifest", base_url=base_url),
        client.get("/app.css", base_url=base_url),
        client.get("/no-such-file.js", base_url=base_url),  # static 404
        client.get("/healthz", base_url=base_url),
    ]
    for response in responses:
        response.close()  # static files are streamed from open files
    statuses = [response.status_code for response in responses]
    assert statuses == [200, 401, 422, 404, 405, 200, 200, 200, 200, 404, 200]
    return responses


def test_every_kind_of_response_carries_the_security_headers_and_hsts_only_over_tls(
    client: Any, headers: dict[str, dict[str, str]]
) -> None:
    token = headers["pps_officer"]["Authorization"].split()[1]
    for response in every_kind_of_response(client, token, "http://localhost"):
        check_headers(response, https=False)
    for response in every_kind_of_response(client, token, "https://localhost"):
        check_headers(response, https=True)
    with client.get("/") as shell:
        assert shell.headers["Content-Type"].startswith("text/html")
    # Behind no trusted proxy, a forged X-Forwarded-Proto changes nothing.
    forged = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    check_headers(forged, https=False)
    # API answers are not cached, unless the view says otherwise itself (and then once, its way).
    me = client.get("/api/v1/me", headers=headers["pps_officer"])
    assert me.headers.getlist("Cache-Control") == ["no-store"]
    key = client.get("/api/v1/push/vapid-public-key")
    assert key.status_code == 200 and key.headers.getlist("Cache-Control") == ["no-cache"]
    assert len(key.headers.getlist("X-Frame-Options")) == 1


def test_a_trusted_proxy_decides_scheme_and_client_address(tmp_path: Path, seeded: Any) -> None:
    settings = Settings(instance_path=tmp_path / "instance", trusted_proxies=1, login_address_limit=2)
    proxied = create_app({"TESTING": True, "SETTINGS": settings})
    client = proxied.test_client()
    try:
        check_headers(client.get("/healthz", headers={"X-Forwarded-Proto": "https"}), https=True)
        # The login throttle counts the address the proxy saw, not the proxy's own.
        wrong = {"username": "nobody", "password": WRONG_PASSWORD}
        for _ in range(2):
            assert (
                client.post("/api/v1/auth/token", json=wrong, headers={"X-Forwarded-For": "10.0.0.7"}).status_code
                == 401
            )
        assert client.post("/api/v1/auth/token", json=wrong, headers={"X-Forwarded-For": "10.0.0.7"}).status_code == 429
        assert client.post("/api/v1/auth/token", json=wrong, headers={"X-Forwarded-For": "10.0.0.8"}).status_code == 401
    finally:
        application = proxied.extensions.get("pantau")
        if application is not None:
            application.close()


@pytest.mark.e2e
def test_gunicorn_access_and_error_logs_carry_no_token_password_or_nik(tmp_path: Path, seeded: Any) -> None:
    from tests.e2e.processes import call, free_port, start, stop, wait_until_healthy

    instance = tmp_path / "instance"  # the seeded fixture's store, which the server opens too
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        "PANTAU_INSTANCE_PATH": str(instance),
        "DATABASE_URL": "",
        "PANTAU_BIND": f"127.0.0.1:{port}",
        "PANTAU_ACCESS_LOG": "1",
        "PANTAU_WEB_WORKERS": "1",
        "PANTAU_PASSWORD_COST": "10",
    }
    log_path = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", "server.app:create_app()"]
    server = start(command, env, log_path)
    try:
        wait_until_healthy(base_url, server, log_path)
        secrets = run_scenario(lambda method, path, body, token=None: call(base_url, method, path, body, token))
    finally:
        stop(server)
    text = log_path.read_text(errors="replace")
    assert "POST /api/v1/corrections" in text, "the access log is not on"
    assert leaked(text, secrets) == []
