"""Accounts served from memory on SQLite, a revocation still effective at once in every process
(server/account_stamp.py). Two applications on one store stand for two web processes: they share the
stamp file through the page cache exactly as two processes do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.config import Settings
from server.demo import import_committees
from server.domain.base import SYSTEM
from server.domain.errors import PermissionDeniedError
from server.services import ServingApplication
from tests.conftest import PPS
from tests.factories import visit_body
from tests.integration.test_account_listener import PASSWORD, CountedReads, login, two_processes


@pytest.fixture
def processes(tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    with two_processes(Settings(instance_path=tmp_path / "instance")) as both:
        yield both


def test_a_vouched_for_account_is_served_without_asking_the_store(processes: Any, monkeypatch: Any) -> None:
    first, second = processes
    token = login(second)
    reads = CountedReads(first, monkeypatch)
    for _ in range(5):
        assert first.actor_for_token(token).username == "auditor1"
    assert reads.count == 1


def test_a_revoked_token_is_refused_by_the_other_process_as_soon_as_the_revocation_returns(processes: Any) -> None:
    first, second = processes
    token = login(second)
    first.actor_for_token(token)
    second.revoke_token(second.actor_for_token(token), token)
    with pytest.raises(PermissionDeniedError, match="expired or revoked"):
        first.actor_for_token(token)


def test_a_locked_account_and_a_new_token_are_seen_by_the_other_process_at_once(processes: Any) -> None:
    first, second = processes
    token = login(second)
    first.actor_for_token(token)
    assert first.actor_for_token(login(second)).username == "auditor1"
    second.set_locked(second.actor_for_token(login(second, "admin")), "auditor1", True, "investigation", SYSTEM)
    with pytest.raises(PermissionDeniedError):
        first.actor_for_token(token)


def test_only_account_changes_move_the_stamp(processes: Any) -> None:
    """Reports are most of the writes: they must not make every process read its accounts again."""
    first, second = processes
    import_committees(first)
    first.create_account("pps1", PASSWORD, "pps_officer", PPS, SYSTEM)
    officer = first.actor_for_token(login(first, "pps1"))
    before = second.account_watch.stamp()
    first.record_visit(officer, visit_body(PPS), SYSTEM)
    assert second.account_watch.stamp() == before
    login(first, "pps1")
    assert second.account_watch.stamp() != before


def test_an_in_memory_store_serves_accounts_as_the_library_does(tmp_path: Any) -> None:
    application = ServingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": ":memory:",
                                          "APPLICATION_RECORDER_TOPIC": "server.persistence:SQLitePositionRecorder"})
    try:
        assert application.account_watch is None and application.vouchers is None
        application.create_account("auditor1", PASSWORD, "auditor", None, SYSTEM)
        token = login(application)
        application.revoke_token(application.actor_for_token(token), token)
        with pytest.raises(PermissionDeniedError):
            application.actor_for_token(token)
    finally:
        application.close()


