"""The exact bytes each event contributes to the verifiable log (README, "Evidence: the verifiable log").

A leaf commits to every field of an event separately, each behind its own secret salt, so a case file can
withhold one field (a voter's NIK, a password hash) and still prove the event: the withheld field's
commitment stays in the leaf, and without its salt the commitment cannot be brute-forced back to a NIK.
Leaves are computed from the decrypted JSON document, so they do not change when the at-rest cipher is
switched on, and checking them never needs the cipher key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import rfc8785

LEAF_FORMAT = "pantau-leaf/1"
SALT_CONTEXT = "pantau-leaf-salt/1"
SALT_KEY_SIZE = 32


class LeafError(ValueError):
    """An event's stored state could not be turned into a leaf (corrupt, undecryptable, not JSON)."""


class _Cipher(Protocol):
    def decrypt(self, ciphertext: bytes) -> bytes: ...


class _Compressor(Protocol):
    def decompress(self, data: bytes) -> bytes: ...


def canonical_id(originator_id: UUID | str) -> str:
    """The aggregate id as a leaf spells it: lowercase, hyphenated."""
    return str(UUID(str(originator_id)))


def field_salt(salt_key: bytes, originator_id: UUID | str, originator_version: int, name: str) -> bytes:
    """HMAC-SHA256(salt key, RFC 8785 of [context, id, version, field name]): stable, secret, per field."""
    message = rfc8785.dumps([SALT_CONTEXT, canonical_id(originator_id), originator_version, name])
    return hmac.new(salt_key, message, hashlib.sha256).digest()


def commitment(salt: bytes, value: Any) -> str:
    """Hex SHA-256(salt || RFC 8785 of the field's JSON value)."""
    return hashlib.sha256(salt + rfc8785.dumps(value)).hexdigest()


def leaf_bytes(
    position: int, originator_id: UUID | str, originator_version: int, topic: str, commitments: Mapping[str, str]
) -> bytes:
    """RFC 8785 canonical JSON of the leaf object; its RFC 9162 leaf hash is SHA-256(0x00 || these bytes)."""
    return rfc8785.dumps(
        {
            "format": LEAF_FORMAT,
            "position": position,
            "originator_id": canonical_id(originator_id),
            "originator_version": originator_version,
            "topic": topic,
            "fields": dict(commitments),
        }
    )


def decode_state(state: bytes, cipher: _Cipher | None = None, compressor: _Compressor | None = None) -> dict[str, Any]:
    """The event's stored JSON document: undo the library's encryption, then its compression."""
    data = state
    try:
        if cipher is not None:
            data = cipher.decrypt(data)
        if compressor is not None:
            data = compressor.decompress(data)
        document = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    # Tampered bytes can fail in the cipher, the decompressor or the parser, each with its own error.
    except Exception as error:
        raise LeafError(f"stored state cannot be decoded: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise LeafError("stored state is not a JSON object")
    return document


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class EventRecord:
    """One event as the log holds it: where it is, whose it is, and its fields."""

    position: int
    originator_id: str
    originator_version: int
    topic: str
    fields: dict[str, Any]


class LeafMaker:
    """Turns stored events into leaves with this deployment's salt key, cipher and compressor."""

    def __init__(self, salt_key: bytes, cipher: _Cipher | None = None, compressor: _Compressor | None = None) -> None:
        if len(salt_key) < SALT_KEY_SIZE:
            raise ValueError(f"the salt key needs at least {SALT_KEY_SIZE} bytes")
        self._salt_key = salt_key
        self._cipher = cipher
        self._compressor = compressor

    def record(self, position: int, originator_id: UUID | str, version: int, topic: str, state: bytes) -> EventRecord:
        """Decode one stored event."""
        fields = decode_state(state, self._cipher, self._compressor)
        return EventRecord(position, canonical_id(originator_id), version, topic, fields)

    def salt(self, record: EventRecord, name: str) -> bytes:
        """The salt a case file discloses alongside a field it reveals."""
        return field_salt(self._salt_key, record.originator_id, record.originator_version, name)

    def commitments(self, record: EventRecord) -> dict[str, str]:
        """Every field's commitment."""
        try:
            return {name: commitment(self.salt(record, name), value) for name, value in record.fields.items()}
        except (TypeError, ValueError) as error:  # e.g. an integer beyond RFC 8785's safe range
            raise LeafError(f"a field cannot be canonicalised: {error}") from None

    def leaf(self, record: EventRecord) -> bytes:
        """The leaf bytes of one event."""
        return leaf_bytes(
            record.position, record.originator_id, record.originator_version, record.topic, self.commitments(record)
        )

    def leaf_of_stored(self, position: int, originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
        """Decode and build in one step (the follower's and the verifier's path)."""
        return self.leaf(self.record(position, originator_id, version, topic, state))
