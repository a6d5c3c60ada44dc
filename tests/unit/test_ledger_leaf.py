"""Leaf bytes: exactly as documented, redactable field by field, independent of the at-rest cipher."""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from typing import Any

import pytest
import rfc8785
from eventsourcing.cryptography import AESCipher
from eventsourcing.utils import Environment

from server.ledger.leaf import LeafError, LeafMaker, commitment, leaf_bytes

SALT_KEY = bytes(range(32))
EVENT_ID = "0b6a8f52-3c43-4a39-9c55-0f1c6c1d9a11"
TOPIC = "server.domain.correction:RegistrationCorrection.Requested"
FIELDS: dict[str, Any] = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-26T04:00:00+00:00"},
    "nik": "1971014403900007",
    "full_name": "Siti Aminah",
    "location": {"latitude": -2.1316, "longitude": 106.1169, "accuracy_m": 15.0},
}
STATE = json.dumps(FIELDS, separators=(",", ":")).encode()


def test_a_leaf_is_exactly_the_documented_canonical_json() -> None:
    # Recomputed here from the README's definition alone, with nothing but hmac, hashlib and rfc8785.
    def salt(name: str) -> bytes:
        message = rfc8785.dumps(["pantau-leaf-salt/1", EVENT_ID, 1, name])
        return hmac.new(SALT_KEY, message, hashlib.sha256).digest()

    expected = rfc8785.dumps(
        {
            "format": "pantau-leaf/1",
            "position": 42,
            "originator_id": EVENT_ID,
            "originator_version": 1,
            "topic": TOPIC,
            "fields": {
                name: hashlib.sha256(salt(name) + rfc8785.dumps(value)).hexdigest() for name, value in FIELDS.items()
            },
        }
    )

    assert LeafMaker(SALT_KEY).leaf_of_stored(42, EVENT_ID.upper(), 1, TOPIC, STATE) == expected


def test_a_withheld_field_keeps_its_commitment_so_the_leaf_still_verifies() -> None:
    maker = LeafMaker(SALT_KEY)
    record = maker.record(42, EVENT_ID, 1, TOPIC, STATE)
    # A bundle for a role without NIK access: every other field disclosed with its salt, the NIK only committed.
    disclosed = {name: (value, maker.salt(record, name)) for name, value in FIELDS.items() if name != "nik"}
    withheld = {"nik": maker.commitments(record)["nik"]}

    rebuilt = {name: commitment(salt, value) for name, (value, salt) in disclosed.items()} | withheld

    assert leaf_bytes(42, EVENT_ID, 1, TOPIC, rebuilt) == maker.leaf(record)
    assert b"1971014403900007" not in maker.leaf(record)


def test_a_withheld_nik_cannot_be_matched_without_its_salt() -> None:
    maker = LeafMaker(SALT_KEY)
    first = maker.commitments(maker.record(1, EVENT_ID, 1, TOPIC, STATE))["nik"]
    second = maker.commitments(maker.record(2, EVENT_ID, 2, TOPIC, STATE))["nik"]

    assert first != hashlib.sha256(rfc8785.dumps(FIELDS["nik"])).hexdigest()
    assert first != second  # the same NIK in two events cannot even be linked


def test_leaves_do_not_change_when_the_at_rest_cipher_is_switched_on() -> None:
    cipher = AESCipher(Environment(env={"CIPHER_KEY": AESCipher.create_key(32)}))
    stored = cipher.encrypt(zlib.compress(STATE))

    plain = LeafMaker(SALT_KEY).leaf_of_stored(7, EVENT_ID, 1, TOPIC, STATE)
    encrypted = LeafMaker(SALT_KEY, cipher, zlib).leaf_of_stored(7, EVENT_ID, 1, TOPIC, stored)

    assert plain == encrypted


def test_tampered_ciphertext_is_refused_as_undecodable() -> None:
    cipher = AESCipher(Environment(env={"CIPHER_KEY": AESCipher.create_key(32)}))
    stored = bytearray(cipher.encrypt(STATE))
    stored[-1] ^= 1

    with pytest.raises(LeafError):
        LeafMaker(SALT_KEY, cipher).leaf_of_stored(7, EVENT_ID, 1, TOPIC, bytes(stored))


@pytest.mark.parametrize("state", [b"", b"[1,2]", b'{"x":NaN}', b"\xff\xfe", b'{"x":'])
def test_state_that_is_not_a_json_object_is_refused(state: bytes) -> None:
    with pytest.raises(LeafError):
        LeafMaker(SALT_KEY).leaf_of_stored(7, EVENT_ID, 1, TOPIC, state)


def test_a_value_outside_rfc8785_number_range_is_refused_rather_than_guessed() -> None:
    with pytest.raises(LeafError):
        LeafMaker(SALT_KEY).leaf_of_stored(7, EVENT_ID, 1, TOPIC, b'{"count":18014398509481984}')


def test_a_short_salt_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        LeafMaker(b"too short")
