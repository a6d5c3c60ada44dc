"""Logging in, bearer tokens (expired, revoked, malformed, someone else's), and the account CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.cli import cli
from server.domain.base import SYSTEM
from tests.conftest import OTHER_PPS, PASSWORDS, PPS
from tests.factories import complaint_body

REFERENCE_CSV = Path(__file__).resolve().parents[2] / "server" / "data" / "pangkalpinang_areas.csv"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


# --- logging in --------------------------------------------------------------------------------


def test_logging_in_with_the_right_password_issues_a_token_that_expires(client: Any, seeded: Any) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "kpu_admin", "password": PASSWORDS["kpu_admin"]})

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert (body["username"], body["role"], body["committee"]) == ("kpu_admin", "kpu_admin", None)
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert datetime.now(UTC) < expires_at <= datetime.now(UTC) + timedelta(hours=12, minutes=1)
    me = client.get("/api/v1/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json["username"] == "kpu_admin"


def test_the_stored_account_keeps_only_a_hash_of_the_token(client: Any, seeded: Any) -> None:
    token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": PASSWORDS["auditor"]}).json[
        "token"
    ]

    stored = b"".join(n.state for n in seeded.recorder.select_notifications(start=1, limit=1_000_000))

    assert token.encode() not in stored
    assert token.partition(".")[2].encode() not in stored


def test_a_wrong_password_is_401(client: Any, seeded: Any) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "kpu_admin", "password": "not-the-password"})

    assert_unauthorized(response)


def test_an_unknown_username_is_401_with_the_same_message_as_a_wrong_password(client: Any, seeded: Any) -> None:
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "whatever-123"})
    wrong = client.post("/api/v1/auth/token", json={"username": "kpu_admin", "password": "whatever-123"})

    assert_unauthorized(unknown)
    assert unknown.json["detail"] == wrong.json["detail"]


def test_a_login_body_without_a_password_is_422(client: Any, seeded: Any) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "kpu_admin"})

    assert response.status_code == 422
    assert "password" in response.json["errors"]


# --- presenting tokens -------------------------------------------------------------------------


def test_a_request_without_a_token_is_401_with_www_authenticate(client: Any, seeded: Any) -> None:
    assert_unauthorized(client.get("/api/v1/me"))


def test_an_expired_token_is_401(client: Any, seeded: Any) -> None:
    issued = seeded.issue_token("kpu_admin", PASSWORDS["kpu_admin"], timedelta(seconds=-1), SYSTEM)

    response = client.get("/api/v1/me", headers=bearer(issued.token))

    assert_unauthorized(response)
    assert "expired" in response.json["detail"]


def test_a_revoked_token_is_refused_at_once_and_other_sessions_continue(client: Any, headers: dict) -> None:
    other_session = client.post(
        "/api/v1/auth/token", json={"username": "pps_semabung", "password": PASSWORDS["pps_semabung"]}
    ).json["token"]

    logout = client.delete("/api/v1/auth/token", headers=headers["pps_officer"])

    assert logout.status_code == 204
    assert_unauthorized(client.get("/api/v1/me", headers=headers["pps_officer"]))
    assert_unauthorized(client.delete("/api/v1/auth/token", headers=headers["pps_officer"]))
    assert client.get("/api/v1/me", headers=bearer(other_session)).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Bearer garbage",
        "Bearer not-hex.secret",
        "Bearer 00000000000000000000000000000000.secret",
        "Bearer ....",
        "Bearer " + "a" * 10_000,
        "Basic a3B1X2FkbWluOmRlbW8ta3B1LTIwMjQ=",
        "Token abc",
        "bearer",
    ],
)
def test_a_malformed_token_is_401(authorization: str, client: Any, seeded: Any) -> None:
    assert_unauthorized(client.get("/api/v1/me", headers={"Authorization": authorization}))


def test_a_token_secret_moved_onto_another_account_is_401(client: Any, headers: dict, seeded: Any) -> None:
    pps_secret = headers["pps_officer"]["Authorization"].partition(".")[2]
    admin_id = seeded.account("kpu_admin").id.hex

    response = client.get("/api/v1/me", headers=bearer(f"{admin_id}.{pps_secret}"))

    assert_unauthorized(response)


def test_the_bearer_scheme_is_case_insensitive(client: Any, headers: dict) -> None:
    token = headers["auditor"]["Authorization"].removeprefix("Bearer ")

    assert client.get("/api/v1/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_another_pps_officers_token_cannot_act_on_this_pps(client: Any, headers: dict) -> None:
    body = complaint_body(committee=PPS)
    client.post("/api/v1/complaints", json=body, headers=headers["pps_officer"])
    intruder = headers["other_pps_officer"]

    read = client.get(f"/api/v1/complaints/{body['id']}", headers=intruder)
    filed = client.post("/api/v1/complaints", json=complaint_body(committee=PPS), headers=intruder)
    committee = client.get(f"/api/v1/committees/{PPS}", headers=intruder)

    assert (read.status_code, filed.status_code, committee.status_code) == (403, 403, 403)
    assert client.get(f"/api/v1/committees/{OTHER_PPS}", headers=intruder).status_code == 200


def test_a_locked_accounts_tokens_stop_working_at_once(client: Any, headers: dict, seeded: Any) -> None:
    account = seeded.account("pps_semabung")
    account.lock(reason="Perangkat hilang", until=None, context=SYSTEM.as_event_data())
    seeded.save(account)

    assert_unauthorized(client.get("/api/v1/me", headers=headers["pps_officer"]))
    login = client.post("/api/v1/auth/token", json={"username": "pps_semabung", "password": PASSWORDS["pps_semabung"]})
    assert_unauthorized(login)


def test_revoking_an_accounts_role_ends_its_sessions(client: Any, headers: dict, seeded: Any) -> None:
    account = seeded.account("ppk_bukitintan")
    account.revoke_role(reason="Masa tugas selesai", context=SYSTEM.as_event_data())
    seeded.save(account)

    assert_unauthorized(client.get("/api/v1/me", headers=headers["ppk_officer"]))


# --- the account CLI ---------------------------------------------------------------------------


def create_user(runner: Any, *args: str, password: str = "a-good-password") -> Any:
    return runner.invoke(cli, ["users", "create", *args, "--password-stdin"], input=f"{password}\n")


def test_users_create_makes_an_account_that_can_log_in(runner: Any, client: Any, seeded: Any) -> None:
    result = create_user(runner, "--username", "pps_baru", "--role", "pps_officer", "--committee", PPS)

    assert result.exit_code == 0, result.output
    assert "pps_baru" in result.output
    login = client.post("/api/v1/auth/token", json={"username": "pps_baru", "password": "a-good-password"})
    assert login.status_code == 201
    assert login.json["committee"] == PPS
    assert "a-good-password" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "pps_officer", "--committee", "19.71.01"], "needs a PPS committee"),
        (["--role", "pps_officer"], "needs a PPS committee"),
        (["--role", "ppk_officer", "--committee", PPS], "needs a PPK committee"),
        (["--role", "kpu_admin", "--committee", PPS], "needs no committee"),
        (["--role", "auditor", "--committee", "19.71.01"], "needs no committee"),
        (["--role", "pps_officer", "--committee", "19.71.09.9999"], "No committee with code 19.71.09.9999"),
        (["--role", "pps_officer", "--committee", "not-a-code"], "No committee with code not-a-code"),
        (["--role", "superuser"], "Invalid value for '--role'"),
    ],
)
def test_users_create_refuses_a_bad_role_and_committee_combination(
    args: list[str], message: str, runner: Any, seeded: Any
) -> None:
    result = create_user(runner, "--username", "salah", *args)

    assert result.exit_code != 0
    assert message in result.output
    with pytest.raises(Exception, match="No account"):
        seeded.account("salah")


def test_users_create_refuses_a_short_password(runner: Any, seeded: Any) -> None:
    result = create_user(runner, "--username", "pendek", "--role", "auditor", password="short")

    assert result.exit_code != 0
    assert "at least 8 characters" in result.output


def test_users_create_refuses_a_taken_username(runner: Any, seeded: Any) -> None:
    result = create_user(runner, "--username", "KPU_Admin", "--role", "auditor")

    assert result.exit_code != 0
    assert "taken" in result.output


def test_users_create_requires_password_stdin(runner: Any, seeded: Any) -> None:
    result = runner.invoke(cli, ["users", "create", "--username", "x", "--role", "auditor"], input="pw-123456\n")

    assert result.exit_code != 0
    assert "--password-stdin" in result.output


def test_committees_import_is_idempotent(runner: Any, pantau_app: Any) -> None:
    first = runner.invoke(cli, ["committees", "import", str(REFERENCE_CSV)])
    second = runner.invoke(cli, ["committees", "import", str(REFERENCE_CSV)])

    assert first.exit_code == 0, first.output
    assert "49 committees registered, 0 already present." in first.output
    assert second.exit_code == 0, second.output
    assert "0 committees registered, 49 already present." in second.output


def test_committees_import_refuses_a_csv_without_the_expected_columns(
    runner: Any, pantau_app: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name\n19.71.01,Bukit Intan\n", encoding="utf-8")

    result = runner.invoke(cli, ["committees", "import", str(bad)])

    assert result.exit_code != 0
    assert "missing column" in result.output
