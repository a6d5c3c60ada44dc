"""Event contents encrypted at rest with the eventsourcing library's AES-GCM cipher, keyed by PANTAU_CIPHER_KEY.

The library encrypts each stored event's `state` (and snapshots) and leaves the columns it needs to find events
(aggregate id, version, topic, position) in clear. It holds exactly one key: there is no key id in the stored
bytes and no second key to fall back on, so rotating means copying the whole log into a new store under the
new key (README, "Personal data at rest").
"""

from __future__ import annotations

import binascii
from base64 import b64decode

import click
from eventsourcing.cryptography import AESCipher

# The `cryptography`-based cipher; eventsourcing.cipher:AESCipher is the same format but needs pycryptodome.
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
KEY_BYTES = 32


class CipherKeyError(ValueError):
    """PANTAU_CIPHER_KEY is not a usable AES key. The message never repeats the key."""


def generate_cipher_key() -> str:
    """A new random AES-256 key, base64-encoded as PANTAU_CIPHER_KEY expects."""
    return AESCipher.create_key(KEY_BYTES)


def check_cipher_key(key: str) -> None:
    """Refuse at start-up what would otherwise fail on the first write (or, worse, be a weak key)."""
    try:
        raw = b64decode(key.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CipherKeyError(
            "PANTAU_CIPHER_KEY is not valid base64; `pantau keys generate-cipher-key` makes one."
        ) from None
    if len(raw) not in AESCipher.KEY_SIZES:
        raise CipherKeyError(
            f"PANTAU_CIPHER_KEY decodes to {len(raw)} bytes; an AES key is 16, 24 or 32 (32 recommended)."
        )


def cipher_env(key: str) -> dict[str, str]:
    """The library's environment for encrypting event contents with this key."""
    check_cipher_key(key)
    return {"CIPHER_TOPIC": CIPHER_TOPIC, "CIPHER_KEY": key.strip()}


@click.group("keys")
def keys_commands() -> None:
    """Encryption keys."""


@keys_commands.command("generate-cipher-key")
def generate_cipher_key_command() -> None:
    """Print a new AES-256 key for PANTAU_CIPHER_KEY; keep it in a secret store, never in git or the instance folder."""
    click.echo(generate_cipher_key())
