"""One Web Push request through pywebpush, and what its answer means for the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import requests
from pywebpush import WebPushException, webpush
from urllib3.exceptions import NewConnectionError

from server.push.vapid import VapidKey

TIMEOUT_SECONDS = 10.0  # pywebpush has no effective default; a hung push service must not stall the worker


@dataclass(frozen=True)
class Outcome:
    """sent | retry (provably not accepted) | gone (404/410) | failed (permanent) | unknown (maybe accepted)."""

    status: str
    http_status: int | None = None
    retry_after: str | None = None
    error: str | None = None


class Sender(Protocol):
    def send(self, subscription: dict[str, Any], payload: str, ttl: int, urgency: str, topic: str) -> Outcome: ...


class WebPushSender:
    """Signs with the server's VAPID key and posts one encrypted (aes128gcm) message."""

    def __init__(self, key: VapidKey, timeout: float = TIMEOUT_SECONDS) -> None:
        self.key = key
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, subscription: dict[str, Any], payload: str, ttl: int, urgency: str, topic: str) -> Outcome:
        try:
            response = webpush(
                subscription,
                data=payload,
                vapid_private_key=self.key.vapid,
                vapid_claims=self.key.claims(),
                content_encoding="aes128gcm",
                timeout=self.timeout,
                ttl=ttl,
                headers={"Urgency": urgency, "Topic": topic},
                requests_session=self.session,
            )
        except WebPushException as error:
            if error.response is None:  # refused before any request: bad keys
                return Outcome("failed", error=str(error)[:300])
            return classify(error.response.status_code, error.response.headers.get("Retry-After"))
        except requests.RequestException as error:
            # Only a connection that never opened proves the service did not get the message;
            # anything later (read timeout, reset mid-answer) may have been accepted.
            never_sent = isinstance(error, requests.ConnectTimeout) or isinstance(
                error.args[0] if error.args else None, NewConnectionError
            ) or isinstance(getattr(error.args[0], "reason", None) if error.args else None, NewConnectionError)
            return Outcome("retry" if never_sent else "unknown", error=f"{type(error).__name__}: {error}"[:300])
        return classify(response.status_code, None)  # type: ignore[union-attr]


def classify(status: int, retry_after: str | None) -> Outcome:
    """RFC 8030 answers: 201 accepted, 404/410 subscription gone, 429 and 5xx try later, other 4xx never."""
    if status < 300:
        return Outcome("sent", status)
    if status in (404, 410):
        return Outcome("gone", status)
    if status == 429 or status >= 500:
        return Outcome("retry", status, retry_after=retry_after)
    return Outcome("failed", status, error=f"push service answered {status}")
