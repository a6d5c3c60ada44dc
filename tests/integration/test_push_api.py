"""The push API: the VAPID public key, and subscriptions validated, recorded as events, and ended by their owner."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from server.app import create_app
from server.config import Settings
from server.domain.push import subscription_id

SUBSCRIPTIONS = "/api/v1/push/subscriptions"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_subscription(endpoint: str = "https://fcm.googleapis.com/fcm/send/abc123") -> dict[str, Any]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))},
    }


def off_curve_point() -> str:
    # x = y = 1 is not on P-256: the right length and prefix, but no key.
    return b64url(b"\x04" + (1).to_bytes(32, "big") * 2)


def test_the_vapid_public_key_is_an_uncompressed_p256_point_and_stays_the_same(client: Any, settings: Settings) -> None:
    first = client.get("/api/v1/push/vapid-public-key")
    assert first.status_code == 200
    point = base64.urlsafe_b64decode(first.json["public_key"] + "=")
    assert len(point) == 65 and point[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    # Generated once into the instance folder, readable by its owner only; a new process finds the same key.
    key_file = settings.instance_path / "vapid_private_key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    again = create_app({"TESTING": True, "SETTINGS": settings}).test_client().get("/api/v1/push/vapid-public-key")
    assert again.json == first.json


def test_any_signed_in_role_can_subscribe_and_the_subscription_is_an_event(
    client: Any, seeded: Any, headers: dict[str, dict[str, str]]
) -> None:
    for role in ("pps_officer", "ppk_officer", "kpu_admin", "auditor", "legal"):
        subscription = browser_subscription(f"https://updates.push.services.mozilla.com/wpush/v2/{role}")
        response = client.post(SUBSCRIPTIONS, json=subscription, headers=headers[role])
        assert response.status_code == 201, response.json
        recorded = seeded.repository.get(subscription_id(subscription["endpoint"]))
        assert recorded.active and recorded.last_changed_by == recorded.username
    assert client.post(SUBSCRIPTIONS, json=browser_subscription()).status_code == 401


def test_subscribing_again_is_idempotent_and_a_phone_can_change_hands(
    client: Any, seeded: Any, headers: dict[str, dict[str, str]]
) -> None:
    subscription = browser_subscription()
    first = client.post(SUBSCRIPTIONS, json=subscription, headers=headers["pps_officer"])
    again = client.post(SUBSCRIPTIONS, json=subscription, headers=headers["pps_officer"])
    assert first.json == again.json
    assert seeded.repository.get(subscription_id(subscription["endpoint"])).version == 1
    client.post(SUBSCRIPTIONS, json=subscription, headers=headers["other_pps_officer"])
    recorded = seeded.repository.get(subscription_id(subscription["endpoint"]))
    assert recorded.username == "pps_bacang" and recorded.version == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://push.example.com/x"}, "endpoint"),
        ({"endpoint": "ftp://push.example.com/x"}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.com/x"}, "endpoint"),
        ({"endpoint": "not a url"}, "endpoint"),
        ({"keys": {"p256dh": b64url(b"\x04" + bytes(31)), "auth": b64url(bytes(16))}}, "keys.p256dh"),
        ({"keys": {"p256dh": off_curve_point(), "auth": b64url(bytes(16))}}, "keys.p256dh"),
        ({"keys": {"p256dh": "+/+/" * 22, "auth": b64url(bytes(16))}}, "keys.p256dh"),
        ({"keys": {"p256dh": None, "auth": b64url(bytes(16))}}, "keys"),
        ({"auth": b64url(bytes(15))}, "keys.auth"),
        ({"keys": {"auth": b64url(bytes(16))}}, "keys"),
    ],
)
def test_a_bad_subscription_is_422_problem_json(
    client: Any, headers: dict[str, dict[str, str]], change: dict[str, Any], field: str
) -> None:
    subscription = browser_subscription()
    if "auth" in change:
        subscription["keys"]["auth"] = change["auth"]
    else:
        subscription.update(change)
    response = client.post(SUBSCRIPTIONS, json=subscription, headers=headers["ppk_officer"])
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


def test_plain_http_to_this_machine_only_in_testing_or_when_allowed(settings: Settings, seeded: Any) -> None:
    local = browser_subscription("http://127.0.0.1:9/push/x")
    production = create_app({"TESTING": False, "SETTINGS": settings}).test_client()
    token = production.post("/api/v1/auth/token", json={"username": "legal", "password": "demo-legal-2024"}).json[
        "token"
    ]
    auth = {"Authorization": f"Bearer {token}"}
    assert production.post(SUBSCRIPTIONS, json=local, headers=auth).status_code == 422
    allowed = Settings(instance_path=settings.instance_path, database_url=settings.database_url, push_allow_local=True)
    assert (
        create_app({"SETTINGS": allowed}).test_client().post(SUBSCRIPTIONS, json=local, headers=auth).status_code == 201
    )


def test_only_the_owner_can_unsubscribe_and_unsubscribing_twice_is_fine(
    client: Any, seeded: Any, headers: dict[str, dict[str, str]]
) -> None:
    subscription = browser_subscription()
    client.post(SUBSCRIPTIONS, json=subscription, headers=headers["ppk_officer"])
    endpoint = {"endpoint": subscription["endpoint"]}
    assert client.delete(SUBSCRIPTIONS, json=endpoint, headers=headers["kpu_admin"]).status_code == 404
    assert client.delete(SUBSCRIPTIONS, json=endpoint, headers=headers["ppk_officer"]).status_code == 204
    assert client.delete(SUBSCRIPTIONS, json=endpoint, headers=headers["ppk_officer"]).status_code == 204
    recorded = seeded.repository.get(subscription_id(subscription["endpoint"]))
    assert not recorded.active and recorded.ended_reason == "user" and recorded.last_changed_by == "ppk_bukitintan"
    assert (
        client.delete(SUBSCRIPTIONS, json={"endpoint": "https://x.example/none"}, headers=headers["legal"]).status_code
        == 404
    )


def test_push_status_counts_the_outbox_by_status(runner: Any) -> None:
    from server.push.commands import push

    result = runner.invoke(push, ["status"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
