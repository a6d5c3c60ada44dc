"""Committee status facts kept per web process (server/status_cache.py)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

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


def test_without_a_listener_every_read_loads() -> None:
    cache, load = StatusCache(None), Loads()
    cache.facts(PPS, "PPS", T0, load)
    cache.facts(PPS, "PPS", T0, load)
    assert load.count == 2


def test_facts_are_kept_until_a_read_model_commit_is_announced() -> None:
    vouchers = leased()
    cache, load = StatusCache(vouchers), Loads()
    first = cache.facts(PPS, "PPS", T0, load)
    assert cache.facts(PPS, "PPS", T0 + timedelta(seconds=0.5), load) is first and load.count == 1
    vouchers.readmodels_changed()
    assert cache.facts(PPS, "PPS", T0, load) == [{"code": PPS, "n": 2}]


def test_facts_are_kept_at_most_facts_seconds_of_the_readers_clock() -> None:
    cache, load = StatusCache(leased()), Loads()
    cache.facts(PPS, "PPS", T0, load)
    cache.facts(PPS, "PPS", T0 + timedelta(seconds=FACTS_SECONDS), load)
    cache.facts(PPS, "PPS", T0 - timedelta(seconds=FACTS_SECONDS), load)  # a clock set back counts too
    assert load.count == 3


def test_nothing_is_kept_while_the_lease_does_not_hold() -> None:
    vouchers = leased()
    cache, load = StatusCache(vouchers), Loads()
    vouchers.lapse()
    cache.facts(PPS, "PPS", T0, load)
    vouchers.renewed(0.0, lapsed=True)
    cache.facts(PPS, "PPS", T0, load)
    assert load.count == 2


def test_a_committee_asked_as_another_kind_loads_again() -> None:
    cache, load = StatusCache(leased()), Loads()
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
