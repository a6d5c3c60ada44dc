"""Committee status facts kept per web process (server/status_cache.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from projections.db import Database
from projections.read import AlertRules
from projections.read.status import committee_answer
from server.account_listener import Vouchers
from server.status_cache import FACTS_SECONDS, StatusCache

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PPS = "19.71.01.1004"


class Loads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> list[dict[str, Any]]:
        self.count += 1
        return [{"code": PPS, "n": self.count}]


def leased() -> Vouchers:
    """Vouchers holding a lease on a clock that stands still."""
    vouchers = Vouchers(clock=lambda: 0.0)
    vouchers.renewed(0.0, lapsed=True)
    return vouchers


def test_while_the_stamp_says_nothing_every_read_loads() -> None:
    cache, load = StatusCache(lambda: None), Loads()
    cache.facts(PPS, "PPS", T0, load)
    cache.facts(PPS, "PPS", T0, load)
    assert load.count == 2


def test_facts_are_kept_until_a_read_model_commit_is_announced() -> None:
    vouchers = leased()
    cache, load = StatusCache(vouchers.readmodels_stamp), Loads()
    first = cache.facts(PPS, "PPS", T0, load)
    assert cache.facts(PPS, "PPS", T0 + timedelta(seconds=0.5), load) is first and load.count == 1
    vouchers.readmodels_changed()
    assert cache.facts(PPS, "PPS", T0, load) == [{"code": PPS, "n": 2}]


def test_facts_are_kept_at_most_facts_seconds_of_the_readers_clock() -> None:
    cache, load = StatusCache(leased().readmodels_stamp), Loads()
    cache.facts(PPS, "PPS", T0, load)
    cache.facts(PPS, "PPS", T0 + timedelta(seconds=FACTS_SECONDS), load)
    cache.facts(PPS, "PPS", T0 - timedelta(seconds=FACTS_SECONDS), load)  # a clock set back counts too
    assert load.count == 3


def test_nothing_is_kept_while_the_lease_does_not_hold() -> None:
    vouchers = leased()
    cache, load = StatusCache(vouchers.readmodels_stamp), Loads()
    vouchers.lapse()
    cache.facts(PPS, "PPS", T0, load)
    vouchers.renewed(0.0, lapsed=True)
    cache.facts(PPS, "PPS", T0, load)
    assert load.count == 2


def test_a_committee_asked_as_another_kind_loads_again() -> None:
    cache, load = StatusCache(leased().readmodels_stamp), Loads()
    cache.facts(PPS, "PPS", T0, load)
    cache.facts(PPS, "PPK", T0, load)
    assert load.count == 2


def test_answering_from_facts_leaves_them_as_they_were() -> None:
    """Kept facts are shared by every request of the process: an answer must not change them."""
    facts = [
        {"code": "19.71.01", "kind": "PPK", "name": "PPK", "parent": None, "visits": 0, "last_visit_id": None,
         "last_visit_at": None, "checklist_version": None, "checklist": None, "ready_items": 0, "total_items": 0,
         "open_complaints": {}, "pending_corrections": 0, "overdue_corrections": 0, "oldest_pending_at": None},
        {"code": PPS, "kind": "PPS", "name": "PPS", "parent": "19.71.01", "visits": 1, "last_visit_id": "v",
         "last_visit_at": (T0 - timedelta(days=9)).isoformat(), "checklist_version": 1, "checklist": '{"a": true}',
         "ready_items": 1, "total_items": 2, "open_complaints": {"neutrality": 1}, "pending_corrections": 1,
         "overdue_corrections": 1, "oldest_pending_at": (T0 - timedelta(days=5)).isoformat()},
    ]
    before = copy.deepcopy(facts)
    answer = committee_answer(facts, "19.71.01", "PPK", T0, AlertRules())
    assert answer is not None and answer["members"][0]["open_complaints_total"] == 1
    answer["members"][0]["open_complaints"]["neutrality"] = 99
    answer["alerts"].clear()
    assert committee_answer(facts, "19.71.01", "PPK", T0, AlertRules()) != answer
    assert facts == before


def test_on_sqlite_any_commit_to_the_read_model_file_moves_the_stamp(tmp_path: Any) -> None:
    """Exact, and across processes: SQLite counts commits made by every other connection to the file."""
    reader, writer = Database(sqlite_path=tmp_path / "rm.sqlite3"), Database(sqlite_path=tmp_path / "rm.sqlite3")
    try:
        with writer.transaction(write=True) as cur:
            cur.execute("CREATE TABLE t (x INTEGER)")
        cache, load = StatusCache(reader.commit_count), Loads()
        cache.facts(PPS, "PPS", T0, load)
        cache.facts(PPS, "PPS", T0, load)
        assert load.count == 1
        with writer.transaction(write=True) as cur:
            cur.execute("INSERT INTO t VALUES (1)")
        cache.facts(PPS, "PPS", T0, load)
        assert load.count == 2
        with reader.transaction(write=True) as cur:  # the reader's own connections count too
            cur.execute("INSERT INTO t VALUES (2)")
        cache.facts(PPS, "PPS", T0, load)
        assert load.count == 3
        assert Database.in_memory().commit_count() is None
    finally:
        reader.close()
        writer.close()
