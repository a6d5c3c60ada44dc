"""Accounts served from memory on PostgreSQL, a revocation still effective at once in every process
(server/account_watch.py). Two applications on one database stand for two web processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg
import pytest

from server.account_listener import LEASES_TABLE, AccountListener
from server.config import Settings
from server.domain.base import SYSTEM
from server.domain.errors import PermissionDeniedError
from server.services import ServingApplication, build_application

pytestmark = pytest.mark.postgres
PASSWORD = "a-long-password-1"


@pytest.fixture
def url(postgres_database: str) -> str:
    return postgres_database


@contextmanager
def two_processes(settings: Settings) -> Iterator[tuple[Any, Any]]:
    """Two serving applications on one store, as two web processes hold them, and two accounts."""
    first = build_application(settings, ServingApplication)
    second = build_application(settings, ServingApplication)
    try:
        for application in (first, second):
            if isinstance(application.account_watch, AccountListener):
                assert application.account_watch.wait_until_valid(10)
        first.create_account("admin", PASSWORD, "kpu_admin", None, SYSTEM)
        first.create_account("auditor1", PASSWORD, "auditor", None, SYSTEM)
        yield first, second
    finally:
        first.close()
        second.close()


@pytest.fixture
def processes(url: str, tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    with two_processes(Settings(instance_path=tmp_path / "instance", database_url=url)) as both:
        yield both


def login(application: Any, username: str = "auditor1") -> str:
    return application.issue_token(username, PASSWORD, timedelta(hours=1), SYSTEM).token


class CountedReads:
    """Counts the event store reads an application makes (the round trips memory should save)."""

    def __init__(self, application: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = application.recorder.select_events

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(application.recorder, "select_events", counted)


def test_a_vouched_for_account_is_served_without_asking_postgresql(processes: Any, monkeypatch: Any) -> None:
    first, second = processes
    token = login(second)
    reads = CountedReads(first, monkeypatch)
    assert first.actor_for_token(token).username == "auditor1"
    assert reads.count == 1
    for _ in range(5):
        first.actor_for_token(token)
    assert reads.count == 1


def test_a_revoked_token_is_refused_by_the_other_process_as_soon_as_the_revocation_returns(processes: Any) -> None:
    first, second = processes
    token = login(second)
    first.actor_for_token(token)  # now served from first's memory
    second.revoke_token(second.actor_for_token(token), token)
    with pytest.raises(PermissionDeniedError, match="expired or revoked"):
        first.actor_for_token(token)


def test_a_locked_account_is_refused_by_the_other_process_as_soon_as_the_lock_returns(processes: Any) -> None:
    first, second = processes
    token, admin = login(second), second.actor_for_token(login(second, "admin"))
    first.actor_for_token(token)
    second.set_locked(admin, "auditor1", True, "investigation", SYSTEM)
    with pytest.raises(PermissionDeniedError):  # locking ends every session: its tokens are revoked
        first.actor_for_token(token)


def test_a_token_issued_by_another_process_works_at_once(processes: Any) -> None:
    first, second = processes
    first.actor_for_token(login(second))  # the account is in first's memory
    assert first.actor_for_token(login(second)).username == "auditor1"


def test_a_save_of_account_events_waits_for_a_listener_that_has_not_heard_of_it(processes: Any) -> None:
    """Held here: the first process's listener cannot forget the account, so it cannot ack, and the
    revocation must not return while the first process could still serve the token from memory."""
    first, second = processes
    token = login(second)
    first.actor_for_token(token)
    revoked = threading.Event()
    actor = second.actor_for_token(token)

    def revoke() -> None:
        second.revoke_token(actor, token)
        revoked.set()

    with first.account_watch.vouchers._lock:
        thread = threading.Thread(target=revoke)
        thread.start()
        assert not revoked.wait(0.5)
    assert revoked.wait(10)
    thread.join()
    with pytest.raises(PermissionDeniedError):
        first.actor_for_token(token)


def test_a_listener_cut_off_trusts_nothing_until_it_holds_a_lease_again(processes: Any, url: str,
                                                                         monkeypatch: Any) -> None:
    first, second = processes
    token = login(second)
    first.actor_for_token(token)
    before = first.account_watch.vouchers.stamp()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                     (first.account_watch.application_name,))
    deadline = time.monotonic() + 10
    while first.account_watch.vouchers.stamp() == before:  # the thread noticed: generation moved
        assert time.monotonic() < deadline
        time.sleep(0.001)
    reads = CountedReads(first, monkeypatch)
    first.actor_for_token(token)
    assert reads.count == 1  # asked PostgreSQL again
    second.revoke_token(second.actor_for_token(token), token)
    with pytest.raises(PermissionDeniedError):
        first.actor_for_token(token)
    assert first.account_watch.wait_until_valid(10)


def test_a_crashed_processes_lease_holds_writers_back_only_until_it_expires(processes: Any, url: str) -> None:
    _, second = processes
    token = login(second)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {LEASES_TABLE} (holder, acked, expires_at) "
                     "VALUES ('crashed', 0, now() + interval '1 second')")
        second.revoke_token(second.actor_for_token(token), token)
        expired = conn.execute(f"SELECT expires_at <= now() FROM {LEASES_TABLE} "
                               "WHERE holder = 'crashed'").fetchone()
    assert expired == (True,)


def test_a_closed_listener_removes_its_lease(processes: Any, url: str) -> None:
    first, _ = processes
    with psycopg.connect(url) as conn:
        assert conn.execute(f"SELECT count(*) FROM {LEASES_TABLE}").fetchone() == (2,)
        first.account_watch.close()
        assert conn.execute(f"SELECT count(*) FROM {LEASES_TABLE}").fetchone() == (1,)
