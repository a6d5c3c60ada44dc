"""The ledger's two secrets: the checkpoint signing key and the leaf salt key.

Both come from configuration (a file path, or the value itself) or are generated once into the instance
folder. Generation is allowed only while the ledger is still empty: a missing key on a ledger that already
has leaves means a misconfigured machine, and a fresh key would make every old leaf look tampered with.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.config import Settings
from server.ledger.checkpoint import load_or_create_signing_key
from server.ledger.leaf import SALT_KEY_SIZE
from server.secret_files import create_secret_file

SIGNING_KEY_FILE = "ledger-signing-key.pem"
SALT_KEY_FILE = "ledger-salt.key"
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64,}")


class LedgerKeyError(RuntimeError):
    """A ledger key is missing or unusable."""


def signing_key(settings: Settings, create: bool) -> Ed25519PrivateKey:
    """The Ed25519 checkpoint key: PANTAU_LEDGER_KEY (PEM text or path), else the instance folder's."""
    configured = settings.ledger_key
    if configured and configured.lstrip().startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(configured.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerKeyError("PANTAU_LEDGER_KEY is not an Ed25519 private key")
        return key
    path = Path(configured) if configured else settings.instance_path / SIGNING_KEY_FILE
    if not path.exists() and not create:
        raise LedgerKeyError(f"the ledger signing key {path} is missing but the ledger already has leaves")
    return load_or_create_signing_key(path)


def salt_key(settings: Settings, create: bool) -> bytes:
    """The leaf salt key: PANTAU_LEDGER_SALT_KEY (64+ hex digits or a path), else the instance folder's."""
    configured = settings.ledger_salt_key
    if configured and _HEX_KEY.fullmatch(configured):
        return bytes.fromhex(configured)
    path = Path(configured) if configured else settings.instance_path / SALT_KEY_FILE
    if not path.exists():
        if not create:
            raise LedgerKeyError(f"the ledger salt key {path} is missing but the ledger already has leaves")
        create_secret_file(path, secrets.token_bytes(SALT_KEY_SIZE))
    value = path.read_bytes()
    if len(value) < SALT_KEY_SIZE:
        raise LedgerKeyError(f"the ledger salt key {path} is shorter than {SALT_KEY_SIZE} bytes")
    return value
