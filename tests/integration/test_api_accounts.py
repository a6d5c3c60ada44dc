"""Account and committee administration: who could do what, when, is itself history."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PPK, PPS

NEW_ACCOUNT = {"username": "budi", "password": "rahasia-panjang", "role": "pps_officer", "committee": PPS}


def login_as(client: Any, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def events_of(pantau_app: Any, suffix: str) -> list[Any]:
    notifications = pantau_app.recorder.select_notifications(start=1, limit=100_000)
    return [n for n in notifications if n.topic.endswith(suffix)]


def test_kpu_admin_creates_an_account_that_can_log_in_at_once(client: Any, headers: dict, backend: str) -> None:
    response = client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers["kpu_admin"])
    assert response.status_code == 201
    assert response.json["role"] == "pps_officer" and "password" not in response.json
    me = client.get("/api/v1/me", headers=login_as(client, "budi", "rahasia-panjang"))
    assert me.json == {"username": "budi", "role": "pps_officer", "committee": PPS, "language": "id"}


def test_a_taken_username_is_a_conflict_whatever_its_case(client: Any, headers: dict) -> None:
    client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers["kpu_admin"])
    response = client.post("/api/v1/accounts", json={**NEW_ACCOUNT, "username": "BUDI"}, headers=headers["kpu_admin"])
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("role", "committee"),
    [("pps_officer", PPK), ("ppk_officer", PPS), ("auditor", PPS), ("pps_officer", None)],
)
def test_a_role_with_the_wrong_kind_of_committee_is_refused(
    client: Any, headers: dict, role: str, committee: Any
) -> None:
    body = {**NEW_ACCOUNT, "role": role, "committee": committee}
    response = client.post("/api/v1/accounts", json=body, headers=headers["kpu_admin"])
    assert response.status_code == 422
    assert "committee" in response.json["errors"]


def test_only_kpu_admin_administers_accounts(client: Any, headers: dict) -> None:
    for role in ("pps_officer", "ppk_officer", "auditor", "legal"):
        assert client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers[role]).status_code == 403


def test_locking_an_account_ends_its_sessions_at_once_and_is_recorded(client: Any, headers: dict, seeded: Any) -> None:
    client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers["kpu_admin"])
    budi = login_as(client, "budi", "rahasia-panjang")
    locked = client.post("/api/v1/accounts/budi/lock", json={"reason": "HP hilang"}, headers=headers["kpu_admin"])
    assert locked.status_code == 200 and locked.json["locked"] is True
    assert client.get("/api/v1/me", headers=budi).status_code == 401
    assert (
        client.post("/api/v1/auth/token", json={"username": "budi", "password": "rahasia-panjang"}).status_code == 401
    )
    client.post("/api/v1/accounts/budi/unlock", json={"reason": "HP ditemukan"}, headers=headers["kpu_admin"])
    assert client.get("/api/v1/me", headers=login_as(client, "budi", "rahasia-panjang")).status_code == 200
    [lock_event] = events_of(seeded, "Account.Locked")
    assert b"HP hilang" in lock_event.state and b"kpu_admin" in lock_event.state


def test_changing_a_role_takes_effect_on_the_next_login_and_old_tokens_stop(client: Any, headers: dict) -> None:
    client.post("/api/v1/accounts", json=NEW_ACCOUNT, headers=headers["kpu_admin"])
    budi = login_as(client, "budi", "rahasia-panjang")
    granted = client.post(
        "/api/v1/accounts/budi/role", json={"role": "ppk_officer", "committee": PPK}, headers=headers["kpu_admin"]
    )
    assert granted.status_code == 200 and granted.json["committee"] == PPK
    assert client.get("/api/v1/me", headers=budi).status_code == 401
    assert client.get("/api/v1/me", headers=login_as(client, "budi", "rahasia-panjang")).json["role"] == "ppk_officer"


def test_an_administrator_cannot_revoke_their_own_role(client: Any, headers: dict) -> None:
    response = client.post("/api/v1/accounts/kpu_admin/revoke-role", json={"reason": "x"}, headers=headers["kpu_admin"])
    assert response.status_code == 403


def test_a_new_password_needs_the_current_one_and_ends_every_session(client: Any, headers: dict) -> None:
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "salah-sekali", "new_password": "baru-dan-panjang"},
        headers=headers["pps_officer"],
    )
    assert wrong.status_code == 403
    changed = client.post(
        "/api/v1/me/password",
        json={"current_password": "demo-pps-2024", "new_password": "baru-dan-panjang"},
        headers=headers["pps_officer"],
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/me", headers=headers["pps_officer"]).status_code == 401
    assert (
        client.post("/api/v1/auth/token", json={"username": "pps_semabung", "password": "demo-pps-2024"}).status_code
        == 401
    )
    login_as(client, "pps_semabung", "baru-dan-panjang")


def test_committee_members_are_appointed_and_removed_with_reasons(client: Any, headers: dict, seeded: Any) -> None:
    member = {"member_id": "ketua-01", "name": "Ahmad Fauzi", "position": "ketua"}
    appointed = client.post(f"/api/v1/committees/{PPS}/members", json=member, headers=headers["kpu_admin"])
    assert appointed.status_code == 201 and "ketua-01" in appointed.json["members"]
    assert (
        client.post(f"/api/v1/committees/{PPS}/members", json=member, headers=headers["ppk_officer"]).status_code == 403
    )
    missing = client.post(
        f"/api/v1/committees/{PPS}/members/nobody/remove", json={"reason": "x"}, headers=headers["kpu_admin"]
    )
    assert missing.status_code == 404
    removed = client.post(
        f"/api/v1/committees/{PPS}/members/ketua-01/remove",
        json={"reason": "mengundurkan diri"},
        headers=headers["kpu_admin"],
    )
    assert removed.status_code == 200 and removed.json["members"] == {}
    assert len(events_of(seeded, "Committee.MemberRemoved")) == 1
