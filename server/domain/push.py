"""Push subscriptions: which browser may be woken for which account, kept as audited history.

One aggregate per endpoint URL (id = uuid5 of the endpoint), so a phone handed from one officer to
another moves its subscription instead of notifying both, and auditors can read who was subscribed
where and when from the event log.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric import ec
from eventsourcing.domain import event

from server.domain.base import PantauAggregate, derived_id
from server.domain.errors import InvalidInputError, TransitionNotAllowedError

ENDPOINT_MAX_LENGTH = 2048
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
END_REASONS = ("user", "gone", "expired")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def subscription_id(endpoint: str) -> UUID:
    """The aggregate id of the subscription for an endpoint URL."""
    return derived_id("push-subscription", endpoint)


def b64url_decode(value: Any, field: str) -> bytes:
    """Strict base64url (padding optional): '+' or '/' mean the client sent the wrong alphabet."""
    if not isinstance(value, str) or not _BASE64URL.match(value):
        raise InvalidInputError("Must be base64url.", field)
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInputError("Must be base64url.", field) from None


def check_subscription(endpoint: Any, p256dh: Any, auth: Any, allow_local: bool) -> None:
    """Refuse anything a push service or the encryption would choke on, before it becomes an event."""
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= ENDPOINT_MAX_LENGTH:
        raise InvalidInputError(f"An endpoint URL of at most {ENDPOINT_MAX_LENGTH} characters is required.", "endpoint")
    try:
        url = urlsplit(endpoint)
        host = url.hostname
    except ValueError:
        raise InvalidInputError("The endpoint is not a URL.", "endpoint") from None
    local = url.scheme == "http" and host in LOCAL_HOSTS and allow_local
    if not host or url.username or url.password or not (url.scheme == "https" or local):
        raise InvalidInputError("The endpoint must be an https URL of a push service.", "endpoint")
    point = b64url_decode(p256dh, "keys.p256dh")
    if len(point) != 65 or point[0] != 4:
        raise InvalidInputError("p256dh must be a 65-byte uncompressed P-256 point.", "keys.p256dh")
    try:
        # Checks the point is on the curve: pywebpush's own check lets bad keys through.
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidInputError("p256dh is not a point on the P-256 curve.", "keys.p256dh") from None
    if len(b64url_decode(auth, "keys.auth")) != 16:
        raise InvalidInputError("auth must be 16 bytes.", "keys.auth")


class PushSubscription(PantauAggregate):
    """One browser push endpoint, the account it currently belongs to, and its keys."""

    class Subscribed(PantauAggregate.Created):
        endpoint: str
        username: str
        p256dh: str
        auth: str

    @event(Subscribed)
    def __init__(self, endpoint: str, username: str, p256dh: str, auth: str, context: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.username = username
        self.p256dh = p256dh
        self.auth = auth
        self.active = True
        self.ended_reason: str | None = None

    @staticmethod
    def create_id(endpoint: str, **_: Any) -> UUID:
        return subscription_id(endpoint)

    class Renewed(PantauAggregate.Event):
        username: str
        p256dh: str
        auth: str

    def renew(self, username: str, p256dh: str, auth: str, context: dict[str, Any]) -> bool:
        """Subscribe again (new login, new keys, or another account on the same phone); False if nothing changed."""
        if self.active and (self.username, self.p256dh, self.auth) == (username, p256dh, auth):
            return False
        self._renew(username=username, p256dh=p256dh, auth=auth, context=context)
        return True

    @event(Renewed)
    def _renew(self, username: str, p256dh: str, auth: str, context: dict[str, Any]) -> None:
        self.username = username
        self.p256dh = p256dh
        self.auth = auth
        self.active = True
        self.ended_reason = None

    class Ended(PantauAggregate.Event):
        reason: str

    def end(self, reason: str, context: dict[str, Any]) -> None:
        """Stop delivering: the user unsubscribed, the push service said gone, or it grew too old."""
        if reason not in END_REASONS:
            raise InvalidInputError(f"Unknown reason '{reason}'.", "reason")
        if not self.active:
            raise TransitionNotAllowedError("This push subscription has already ended.")
        self._end(reason=reason, context=context)

    @event(Ended)
    def _end(self, reason: str, context: dict[str, Any]) -> None:
        self.active = False
        self.ended_reason = reason
