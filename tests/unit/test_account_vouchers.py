"""What a web process may serve from memory on PostgreSQL (server/account_listener.py), without I/O."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.utils import get_topic

from server.account_listener import (
    LEASE_SECONDS,
    MARGIN_SECONDS,
    WATCHED_TOPIC,
    Vouchers,
    is_watched,
    parse_payload,
    payloads,
)
from server.domain.account import Account

ALICE, BOB = uuid.uuid4(), uuid.uuid4()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def leased(clock: Clock) -> Vouchers:
    vouchers = Vouchers(clock)
    vouchers.renewed(clock.now, lapsed=True)
    return vouchers


def test_nothing_is_vouched_for_without_a_lease(clock: Clock) -> None:
    vouchers = Vouchers(clock)
    assert vouchers.stamp() is None and vouchers.readmodels_stamp() is None
    vouchers.renewed(clock.now, lapsed=True)
    stamp = vouchers.stamp()
    assert stamp is not None
    vouchers.lapse()
    vouchers.vouch(ALICE, stamp)
    assert not vouchers.vouches(ALICE)


def test_an_account_loaded_with_no_change_in_between_is_vouched_for(leased: Vouchers) -> None:
    stamp = leased.stamp()
    assert stamp is not None
    leased.vouch(ALICE, stamp)
    assert leased.vouches(ALICE) and not leased.vouches(BOB)


def test_a_load_that_straddles_a_notification_is_not_vouched_for(leased: Vouchers) -> None:
    """The load may have read the account before the change the notification is about."""
    stamp = leased.stamp()
    assert stamp is not None
    leased.changed([(7, BOB)])  # any account: the stamp does not say which were read
    leased.vouch(ALICE, stamp)
    assert not leased.vouches(ALICE)


def test_a_notification_forgets_the_account_and_moves_acked(leased: Vouchers) -> None:
    for account in (ALICE, BOB):
        stamp = leased.stamp()
        assert stamp is not None
        leased.vouch(account, stamp)
    leased.changed([(9, ALICE), (4, ALICE)])
    assert not leased.vouches(ALICE) and leased.vouches(BOB)
    assert leased.acked == 9


def test_our_clock_ends_the_lease_before_postgresql_does(leased: Vouchers, clock: Clock) -> None:
    stamp = leased.stamp()
    assert stamp is not None
    leased.vouch(ALICE, stamp)
    clock.now += LEASE_SECONDS - MARGIN_SECONDS - 0.01
    assert leased.vouches(ALICE)
    clock.now += 0.02
    assert not leased.vouches(ALICE) and leased.stamp() is None


def test_a_renewal_after_the_lease_ran_out_forgets_everything(leased: Vouchers, clock: Clock) -> None:
    """A stalled listener may have missed notifications while its lease had run out: what it vouched
    for before must not come back with the new lease."""
    stamp = leased.stamp()
    assert stamp is not None
    leased.vouch(ALICE, stamp)
    clock.now += LEASE_SECONDS
    leased.renewed(clock.now, lapsed=False)
    assert leased.valid() and not leased.vouches(ALICE)


def test_a_renewal_postgresql_saw_as_lapsed_forgets_everything(leased: Vouchers, clock: Clock) -> None:
    stamp = leased.stamp()
    assert stamp is not None
    leased.vouch(ALICE, stamp)
    clock.now += 1
    leased.renewed(clock.now, lapsed=True)
    assert leased.valid() and not leased.vouches(ALICE)
    stamp = leased.stamp()
    assert stamp is not None
    clock.now += 1
    leased.renewed(clock.now, lapsed=False)  # an ordinary renewal keeps what was vouched for
    leased.vouch(ALICE, stamp)
    assert leased.vouches(ALICE)


def test_read_model_commits_and_new_leases_change_the_readmodels_stamp(leased: Vouchers, clock: Clock) -> None:
    first = leased.readmodels_stamp()
    assert first is not None and leased.readmodels_stamp() == first
    leased.changed([(3, ALICE)])  # an account change says nothing about the read models
    assert leased.readmodels_stamp() == first
    leased.readmodels_changed()
    second = leased.readmodels_stamp()
    assert second not in (None, first)
    leased.renewed(clock.now, lapsed=True)
    assert leased.readmodels_stamp() not in (None, second)


def test_payloads_round_trip_and_stay_under_postgresqls_limit() -> None:
    changes = [(position, uuid.uuid4()) for position in range(1, 351)]
    sent = payloads(changes)
    assert len(sent) == 4 and all(len(payload) < 8000 for payload in sent)
    assert [pair for payload in sent for pair in parse_payload(payload)] == changes
    assert payloads([]) == []


def test_the_watched_topic_is_the_account_aggregates() -> None:
    """Renaming or moving Account must move WATCHED_TOPIC with it, or no account change is announced."""
    assert get_topic(Account) == WATCHED_TOPIC
    assert is_watched(get_topic(Account.Created))
    assert not is_watched(WATCHED_TOPIC) and not is_watched("server.domain.accountant:Accountant.Created")
