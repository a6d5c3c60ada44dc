"""The ledger follower on SQLite and PostgreSQL: checkpoint policy, several followers, gaps, keys, the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from server.config import Settings
from server.demo import import_committees
from server.ledger.commands import ledger as ledger_commands
from server.ledger.keys import LedgerKeyError
from server.ledger.log import CheckpointPolicy, LedgerFollower
from server.ledger.service import Ledger, open_ledger
from tests.integration.ledger_support import add_accounts


class Clock:
    """A clock the test moves by hand, so time-based checkpoints need no sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def ledger(settings: Settings, seeded: Any, backend: str) -> Iterator[Ledger]:
    opened = open_ledger(settings, seeded)
    yield opened
    opened.close()


def follower(ledger: Ledger, every: int, minutes: float, clock: Clock) -> LedgerFollower:
    return LedgerFollower(
        ledger.follower.source, ledger.store, ledger.maker, ledger.signer, CheckpointPolicy(every, minutes), clock=clock
    )


def sizes(ledger: Ledger) -> list[int]:
    return [checkpoint.tree_size for checkpoint in ledger.store.checkpoints()]


def test_the_first_catch_up_hashes_every_event_and_signs_a_checkpoint(ledger: Ledger, seeded: Any) -> None:
    added = ledger.follower.catch_up()

    assert added == seeded.recorder.max_notification_id() == ledger.store.size()
    assert sizes(ledger) == [added]
    assert ledger.verify().ok


def test_a_checkpoint_is_signed_once_enough_new_events_arrive(ledger: Ledger, seeded: Any) -> None:
    clock = Clock()
    following = follower(ledger, every=6, minutes=60, clock=clock)
    following.catch_up()
    first = following.size

    add_accounts(seeded, 2)  # four events: below the threshold
    following.catch_up()
    assert sizes(ledger) == [first]

    add_accounts(seeded, 1)  # six new events in all
    following.catch_up()
    assert sizes(ledger) == [first, first + 6]


def test_a_checkpoint_is_signed_when_the_interval_passes_with_new_events(ledger: Ledger, seeded: Any) -> None:
    clock = Clock()
    following = follower(ledger, every=1000, minutes=30, clock=clock)
    following.catch_up()
    first = following.size

    clock.now += timedelta(minutes=45)  # time passes, nothing new: nothing to sign
    following.catch_up()
    assert sizes(ledger) == [first]

    add_accounts(seeded, 1)
    following.catch_up()
    assert sizes(ledger) == [first, first + 2]
    assert ledger.store.latest_checkpoint().issued_at == clock.now  # type: ignore[union-attr]


def test_followers_in_two_processes_build_the_same_leaves(settings: Settings, ledger: Ledger, seeded: Any) -> None:
    other = open_ledger(settings, seeded)
    try:
        ledger.follower.catch_up()
        add_accounts(seeded, 2)
        other.follower.catch_up()  # the second process starts from what the first recorded
        add_accounts(seeded, 2)
        ledger.follower.catch_up()
        other.follower.checkpoint_now()

        assert ledger.follower.size == other.follower.size == ledger.store.size()
        assert ledger.verify().ok
    finally:
        other.close()


def test_positions_skipped_by_a_rolled_back_insert_keep_the_log_verifiable(
    ledger: Ledger, seeded: Any, backend: str
) -> None:
    ledger.follower.catch_up()
    # Re-importing registers nothing; on PostgreSQL each refused insert still uses up a sequence number.
    import_committees(seeded)
    add_accounts(seeded, 1)
    ledger.follower.checkpoint_now()

    size = ledger.store.size()
    last = ledger.store.leaves(size - 1, size)[0]
    assert last.position > size if backend == "postgres" else last.position == size
    assert ledger.proofs.inclusion(last.position).leaf_index == size - 1
    assert ledger.verify().ok


def test_a_lost_key_is_refused_rather_than_regenerated_once_the_ledger_has_leaves(
    settings: Settings, ledger: Ledger, seeded: Any
) -> None:
    ledger.follower.catch_up()
    (settings.instance_path / "ledger-salt.key").unlink()

    with pytest.raises(LedgerKeyError, match="salt key"):
        open_ledger(settings, seeded)


def test_keys_can_come_from_configuration_instead_of_the_instance_folder(tmp_path: Any, seeded: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    configured = Settings(instance_path=tmp_path / "configured", ledger_key=pem, ledger_salt_key="ab" * 32)
    opened = open_ledger(configured, seeded)
    try:
        assert opened.signer.private_key.public_key() == key.public_key()
        assert not (configured.instance_path / "ledger-signing-key.pem").exists()
        assert not (configured.instance_path / "ledger-salt.key").exists()
    finally:
        opened.close()


def test_pantau_ledger_checkpoint_signs_the_current_log_on_demand(runner: Any, ledger: Ledger, seeded: Any) -> None:
    result = runner.invoke(ledger_commands, ["checkpoint"])

    assert result.exit_code == 0, result.output
    size = seeded.recorder.max_notification_id()
    assert result.output.startswith(f"pantau.kpu/pangkalpinang\n{size}\n")
    assert f"Verifier key: {ledger.verifier_key}" in result.output
    assert sizes(ledger) == [size]


def test_pantau_ledger_verify_mentions_events_the_worker_has_not_hashed_yet(
    runner: Any, ledger: Ledger, seeded: Any
) -> None:
    ledger.follower.catch_up()
    add_accounts(seeded, 1)

    result = runner.invoke(ledger_commands, ["verify"])

    assert result.exit_code == 0, result.output
    assert "2 newest events are not in the ledger yet" in result.output
