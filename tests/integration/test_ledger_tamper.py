"""Tampering with the event store behind the application's back is detected by `pantau ledger verify`.

Each test edits the event table directly (SQLite and PostgreSQL), as someone with database access would,
then runs the command and checks it fails and names the first altered position.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from server.config import Settings
from server.ledger.commands import ledger as ledger_commands
from server.ledger.merkle import leaf_hash
from server.ledger.service import Ledger, open_ledger
from tests.integration.ledger_support import RawEvents, add_accounts, altered_one_byte

COMMITTEE_EVENT = 5  # the seed registers committees first, so position 5 is a Committee.Registered


@pytest.fixture
def ledger(settings: Settings, seeded: Any, backend: str) -> Iterator[Ledger]:
    """A ledger over the seeded log: one checkpoint over the seed, a second after a few more events."""
    opened = open_ledger(settings, seeded)
    opened.follower.catch_up()
    add_accounts(seeded, 3)
    opened.follower.checkpoint_now()
    yield opened
    opened.close()


def verify(runner: Any) -> Any:
    return runner.invoke(ledger_commands, ["verify"])


def test_an_untouched_log_verifies_against_every_checkpoint(runner: Any, ledger: Ledger) -> None:
    result = verify(runner)

    assert result.exit_code == 0, result.output
    assert "2 signed checkpoints checked" in result.output
    assert "OK" in result.output


def test_altering_one_byte_of_a_stored_event_is_detected_and_located(
    runner: Any, ledger: Ledger, settings: Settings
) -> None:
    raw = RawEvents(settings)
    # Someone edits one letter of a committee's name in the event table.
    raw.set_state(COMMITTEE_EVENT, altered_one_byte(raw.row(COMMITTEE_EVENT)[3]))

    result = verify(runner)

    assert result.exit_code == 1, result.output
    assert f"position {COMMITTEE_EVENT}: event content does not match its ledger leaf" in result.output
    assert f"First position that does not match: {COMMITTEE_EVENT}" in result.output
    # Both signed checkpoints cover that position, so both now disagree with the store.
    assert result.output.count("the event store no longer matches it") == 2


def test_bytes_that_no_longer_decode_are_detected_and_located(runner: Any, ledger: Ledger, settings: Settings) -> None:
    raw = RawEvents(settings)
    raw.set_state(COMMITTEE_EVENT, b"X" + raw.row(COMMITTEE_EVENT)[3][1:])

    result = verify(runner)

    assert result.exit_code == 1
    assert f"position {COMMITTEE_EVENT}: stored event cannot be decoded" in result.output


def test_deleting_a_stored_event_is_detected_and_located(runner: Any, ledger: Ledger, settings: Settings) -> None:
    raw = RawEvents(settings)
    doomed = raw.positions()[10]
    raw.delete(doomed)

    result = verify(runner)

    assert result.exit_code == 1, result.output
    assert f"position {doomed}: event missing" in result.output
    assert f"First position that does not match: {doomed}" in result.output


def test_deleting_the_newest_events_is_detected(runner: Any, ledger: Ledger, settings: Settings) -> None:
    raw = RawEvents(settings)
    last = raw.positions()[-1]
    raw.delete(last)

    result = verify(runner)

    assert result.exit_code == 1
    assert f"position {last}: event missing, the store ends before it" in result.output
    assert "the event store holds only" in result.output


def test_swapping_two_stored_events_is_detected_at_the_earlier_position(
    runner: Any, ledger: Ledger, settings: Settings
) -> None:
    raw = RawEvents(settings)
    first, second = raw.positions()[3], raw.positions()[20]
    raw.swap(first, second)

    result = verify(runner)

    assert result.exit_code == 1, result.output
    assert f"position {first}: event content does not match its ledger leaf" in result.output
    assert f"First position that does not match: {first}" in result.output


def test_rewriting_the_ledger_leaves_as_well_is_still_caught_by_the_signed_checkpoints(
    runner: Any, ledger: Ledger, settings: Settings
) -> None:
    raw = RawEvents(settings)
    raw.set_state(COMMITTEE_EVENT, altered_one_byte(raw.row(COMMITTEE_EVENT)[3]))
    # A thorough attacker also replaces the leaf hash the follower recorded, so the leaf comparison passes.
    forged = leaf_hash(ledger.proofs.leaf(COMMITTEE_EVENT)).hex()
    with ledger.store.db.transaction(write=True) as cur:
        cur.execute("UPDATE ledger_leaves SET leaf_hash = ? WHERE position = ?", (forged, COMMITTEE_EVENT))

    result = verify(runner)

    assert result.exit_code == 1, result.output
    assert "checkpoint of size" in result.output
    assert "the event store no longer matches it; the first change is at or after position 1" in result.output
    assert "the ledger's leaves table does not match it" in result.output


def test_a_checkpoint_not_signed_by_the_ledger_key_fails_verification(
    runner: Any, ledger: Ledger, settings: Settings
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from server.ledger.log import Signer

    latest = ledger.store.latest_checkpoint()
    assert latest is not None
    forged = Signer(ledger.origin, Ed25519PrivateKey.generate()).sign(latest.tree_size, latest.root_hash)
    with ledger.store.db.transaction(write=True) as cur:
        cur.execute("UPDATE ledger_checkpoints SET note = ? WHERE tree_size = ?", (forged, latest.tree_size))

    result = verify(runner)

    assert result.exit_code == 1
    assert f"checkpoint of size {latest.tree_size}: note carries no signature by" in result.output


def test_the_proof_api_refuses_to_prove_an_altered_event(
    client: Any, headers: dict[str, dict[str, str]], ledger: Ledger, settings: Settings
) -> None:
    raw = RawEvents(settings)
    raw.set_state(COMMITTEE_EVENT, altered_one_byte(raw.row(COMMITTEE_EVENT)[3]))

    response = client.get(f"/api/v1/ledger/proof/inclusion?position={COMMITTEE_EVENT}", headers=headers["auditor"])

    assert response.status_code == 409
    assert "no longer matches the ledger" in response.json["detail"]
