"""Password guessing is throttled per account (recorded as events) and per client address (in memory).

Time is moved with an injected clock, never with sleeps.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.domain.account import FAILED_LOGIN_WINDOW, LOGIN_LOCK, MAX_FAILED_LOGINS
from server.domain.base import Context
from server.login_throttle import AddressThrottle
from tests.conftest import PASSWORDS

TOKEN = "/api/v1/auth/token"
USER = "pps_semabung"


class Clock:
    """A settable clock for the application and for the address throttle."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.now.timestamp()

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(pantau_app: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(pantau_app, "now", fake)
    return fake


def attempt(client: Any, password: str, username: str = USER, address: str = "10.1.1.1") -> Any:
    return client.post(TOKEN, json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address})


def account_events(application: Any, username: str) -> list[str]:
    """The account's event class names, in order."""
    account = application.account(username)
    return [type(event).__name__ for event in application.repository.event_store.get(account.id)]


def test_five_wrong_passwords_suspend_password_login_and_the_lockout_is_history(
    client: Any, seeded: Any, clock: Clock
) -> None:
    # Five wrong passwords within the window: each a plain 401, each recorded.
    for _ in range(MAX_FAILED_LOGINS):
        response = attempt(client, "wrong-password")
        assert response.status_code == 401
        clock.advance(timedelta(minutes=1))
    events = account_events(seeded, USER)
    assert events.count("LoginFailed") == MAX_FAILED_LOGINS
    assert events[-1] == "LoginLocked"
    locked = seeded.account(USER)
    expected_until = datetime(2026, 11, 26, 8, 4, tzinfo=UTC) + LOGIN_LOCK
    assert locked.login_locked_until == expected_until.isoformat()
    last = next(iter(seeded.repository.event_store.get(locked.id, gt=locked.version - 1)))
    assert last.reason == "too many failed logins" and last.until == expected_until.isoformat()
    # Now even the right password gets 429 with the time to wait: a guess cannot learn it was right.
    for password in (PASSWORDS[USER], "another-guess"):
        response = attempt(client, password)
        assert response.status_code == 429
        assert response.mimetype == "application/problem+json"
        assert response.json["locked_until"] == expected_until.isoformat()
        assert "suspended until" in response.json["detail"]
        assert int(response.headers["Retry-After"]) == (expected_until - clock.now).total_seconds()
    # Attempts during the suspension are not recorded as further failures.
    assert account_events(seeded, USER).count("LoginFailed") == MAX_FAILED_LOGINS


def test_an_expired_suspension_lets_the_right_password_in_again(client: Any, seeded: Any, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        attempt(client, "wrong-password")
    clock.advance(LOGIN_LOCK - timedelta(seconds=1))
    assert attempt(client, PASSWORDS[USER]).status_code == 429
    clock.advance(timedelta(seconds=1))
    response = attempt(client, PASSWORDS[USER])
    assert response.status_code == 201, response.json
    assert seeded.account(USER).failed_logins == ()


def test_sessions_opened_before_a_lockout_keep_working(client: Any, seeded: Any, clock: Clock) -> None:
    # A stranger typing wrong passwords must not be able to log an officer out in the field.
    token = attempt(client, PASSWORDS[USER]).json["token"]
    for _ in range(MAX_FAILED_LOGINS):
        attempt(client, "wrong-password", address="10.9.9.9")
    assert attempt(client, PASSWORDS[USER]).status_code == 429
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == USER


def test_failures_spread_wider_than_the_window_do_not_lock(client: Any, seeded: Any, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS * 2):
        assert attempt(client, "wrong-password").status_code == 401
        clock.advance(FAILED_LOGIN_WINDOW / (MAX_FAILED_LOGINS - 1))
    assert "LoginLocked" not in account_events(seeded, USER)
    assert attempt(client, PASSWORDS[USER]).status_code == 201


def test_a_successful_login_ends_a_run_of_failures(client: Any, seeded: Any, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        attempt(client, "wrong-password")
    assert attempt(client, PASSWORDS[USER]).status_code == 201
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert attempt(client, "wrong-password").status_code == 401
    assert attempt(client, PASSWORDS[USER]).status_code == 201


def test_an_administrator_unlock_lifts_a_suspension(client: Any, seeded: Any, clock: Clock) -> None:
    for _ in range(MAX_FAILED_LOGINS):
        attempt(client, "wrong-password")
    admin_token = attempt(client, PASSWORDS["kpu_admin"], username="kpu_admin").json["token"]
    admin = seeded.actor_for_token(admin_token)
    seeded.set_locked(admin, USER, False, "Identitas dicek lewat telepon", Context(actor="kpu_admin", role="kpu_admin"))
    assert attempt(client, PASSWORDS[USER]).status_code == 201


def test_one_address_spraying_usernames_gets_429_with_retry_after(app: Any, client: Any, seeded: Any) -> None:
    clock = Clock()
    app.extensions["pantau.login_throttle"] = AddressThrottle(limit=3, window=600, clock=clock.monotonic)
    # Unknown usernames cannot be recorded on any account; the address throttle counts them.
    for name in ("budi", "sari", "agus"):
        assert attempt(client, "guess-123", username=name, address="10.2.2.2").status_code == 401
    blocked = attempt(client, PASSWORDS[USER], address="10.2.2.2")
    assert blocked.status_code == 429 and blocked.headers["Retry-After"] == "600"
    # Another address is not affected, and successes there do not count.
    assert attempt(client, PASSWORDS[USER], address="10.3.3.3").status_code == 201
    # The window slides: once the failures are old enough the address may try again.
    clock.advance(timedelta(seconds=300))
    assert attempt(client, PASSWORDS[USER], address="10.2.2.2").headers["Retry-After"] == "300"
    clock.advance(timedelta(seconds=300))
    assert attempt(client, PASSWORDS[USER], address="10.2.2.2").status_code == 201


def test_the_address_throttle_forgets_the_oldest_addresses_first() -> None:
    clock = Clock()
    throttle = AddressThrottle(limit=1, window=60, clock=clock.monotonic, max_addresses=2)
    for address in ("a", "b", "c"):
        throttle.failed(address)
    assert throttle.retry_after("a") is None
    assert throttle.retry_after("b") == 60 and throttle.retry_after("c") == 60


def test_concurrent_logins_to_one_account_all_succeed(app: Any, seeded: Any) -> None:
    # Two phones (or one retrying) logging in at once used to collide on the account's version: a 500.
    # Twelve at once: more than the five tries an account change once had, since each round of
    # concurrent saves to one account lets exactly one of them win.
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def login() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        statuses.append(attempt(client, PASSWORDS[USER]).status_code)

    threads = [threading.Thread(target=login) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [201] * 12


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_concurrent_wrong_passwords_are_all_counted(app: Any, seeded: Any, backend: str, clock: Clock) -> None:
    statuses: list[int] = []
    barrier = threading.Barrier(MAX_FAILED_LOGINS)

    def guess() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        statuses.append(attempt(client, "wrong-password").status_code)

    threads = [threading.Thread(target=guess) for _ in range(MAX_FAILED_LOGINS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [401] * MAX_FAILED_LOGINS
    assert "LoginLocked" in account_events(seeded, USER)
    assert attempt(app.test_client(), PASSWORDS[USER]).status_code == 429
