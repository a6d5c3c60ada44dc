"""A push service on 127.0.0.1 for tests: decrypts what pywebpush sends and checks its VAPID header.

Each subscriber gets its own P-256 key pair and auth secret, like a browser, so a message that
decrypts proves it was encrypted for that subscriber. Answers are scripted per subscriber.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    name: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    def subscription(self) -> dict[str, Any]:
        """What the browser's PushSubscription.toJSON() would give."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        keys = {"p256dh": b64url(point), "auth": b64url(self.auth)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}


@dataclass
class Received:
    """One request as the push service saw it, and what it answered."""

    name: str
    answered: int
    payload: dict[str, Any]
    claims: dict[str, Any]
    vapid_key: str
    ttl: int
    urgency: str | None
    topic: str | None


@dataclass
class FakePushService:
    base_url: str = ""
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    scripts: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subscriber(self, name: str) -> Subscriber:
        key = ec.generate_private_key(ec.SECP256R1())
        subscriber = Subscriber(name, key, os.urandom(16), f"{self.base_url}/push/{name}")
        self.subscribers[name] = subscriber
        return subscriber

    def answer(self, name: str, *answers: int | tuple[int, dict[str, str]]) -> None:
        """Script the next answers to `name`'s endpoint; afterwards it answers 201 again."""
        self.scripts.setdefault(name, []).extend(a if isinstance(a, tuple) else (a, {}) for a in answers)

    def accepted(self, name: str | None = None) -> list[Received]:
        """Messages answered 201 (to `name`, or to anyone)."""
        with self.lock:
            return [r for r in self.received if r.answered == 201 and (name is None or r.name == name)]

    def requests_to(self, name: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.name == name]

    def handle(self, path: str, headers: Any, body: bytes) -> tuple[int, dict[str, str]]:
        name = path.rsplit("/", 1)[-1]
        subscriber = self.subscribers.get(name)
        if subscriber is None:
            return 404, {}
        authorization = headers.get("Authorization", "")
        if not Vapid02.verify(authorization):
            self.errors.append(f"{name}: VAPID signature does not verify")
            return 401, {}
        parts = dict(part.split("=", 1) for part in authorization.split(" ", 1)[1].split(","))
        claims = json.loads(unb64url(parts["t"].split(".")[1]))
        if headers.get("Content-Encoding") != "aes128gcm":
            self.errors.append(f"{name}: content encoding {headers.get('Content-Encoding')}")
        plaintext = http_ece.decrypt(
            body, private_key=subscriber.private_key, auth_secret=subscriber.auth, version="aes128gcm"
        )
        with self.lock:
            script = self.scripts.get(name) or []
            status, extra = script.pop(0) if script else (201, {})
            self.received.append(
                Received(name, status, json.loads(plaintext), claims, parts["k"], int(headers["TTL"]),
                         headers.get("Urgency"), headers.get("Topic"))
            )
        return status, extra


@contextmanager
def running_push_service() -> Iterator[FakePushService]:
    """Start the service on a free port in a thread; shut it down afterwards."""
    service = FakePushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                status, extra = service.handle(self.path, self.headers, body)
            except Exception as error:  # report, and answer like a broken service would
                service.errors.append(f"{type(error).__name__}: {error}")
                status, extra = 400, {}
            self.send_response(status)
            for header, value in extra.items():
                self.send_header(header, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def vapid_claims_are_valid(received: Received, service: FakePushService, public_key: str, subject: str) -> bool:
    """aud is this service's origin, sub is ours, exp in the future, and signed by our key."""
    claims = received.claims
    return (
        claims.get("aud") == service.base_url
        and claims.get("sub") == subject
        and int(claims.get("exp", 0)) > time.time()
        and received.vapid_key == public_key
    )
