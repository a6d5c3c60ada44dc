"""C2SP signed notes (c2sp.org/signed-note) for checkpoints (c2sp.org/tlog-checkpoint).

Only Ed25519 (signature type 0x01) is supported. The wire format is byte-compatible
with golang.org/x/mod/sumdb/note, so Go witnesses and verifiers accept our checkpoints.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import pathlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from server.secret_files import create_secret_file

_ED25519_TYPE = b"\x01"
_SIGNATURE_PREFIX = "\u2014 "
_KEY_ID_SIZE = 4
_ED25519_SIGNATURE_SIZE = 64
_ED25519_PUBLIC_KEY_SIZE = 32
_ROOT_HASH_SIZE = 32
_MAX_TREE_SIZE = 2**64 - 1
# The spec asks verifiers to cap signatures but to accept at least 16 (witnesses add
# one each), so leave generous headroom.
_MAX_SIGNATURES = 100
_TREE_SIZE_PATTERN = re.compile(r"0|[1-9][0-9]*")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x09\x0b-\x1f]")
_KEY_NAME_FORBIDDEN = re.compile(r"[\s+]")


class CheckpointError(ValueError):
    """A signed note or checkpoint is malformed or its signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, number of leaves and RFC 9162 root hash."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """Return the note text this checkpoint is signed as."""
        if not self.origin or "\n" in self.origin:
            raise CheckpointError("origin must be a non-empty single line")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} is out of range")
        if len(self.root_hash) != _ROOT_HASH_SIZE:
            raise CheckpointError(f"root hash must be {_ROOT_HASH_SIZE} bytes")
        if any(not line or "\n" in line for line in self.extensions):
            raise CheckpointError("extension lines must be non-empty single lines")
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root_hash).decode("ascii"),
        ]
        return "\n".join([*lines, *self.extensions]) + "\n"


@dataclass(frozen=True)
class _Verifier:
    """A parsed verifier key: who signs, under which key ID, with which public key."""

    name: str
    key_id: bytes
    public_key: Ed25519PublicKey


def _check_key_name(name: str) -> None:
    """Enforce the signed-note key name rules."""
    if not name or _KEY_NAME_FORBIDDEN.search(name):
        raise CheckpointError(
            f"invalid key name {name!r}: must be non-empty, without spaces or '+'"
        )


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """Return the 32-byte RFC 8032 encoding of a public key."""
    return public_key.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """Return the 4-byte signed-note key ID SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    material = (
        key_name.encode("utf-8") + b"\n" + _ED25519_TYPE + _raw_public_key(public_key)
    )
    return hashlib.sha256(material).digest()[:_KEY_ID_SIZE]


def verifier_key_string(key_name: str, public_key: Ed25519PublicKey) -> str:
    """Return the verifier key '<name>+<hex key ID>+<base64(0x01 || key)>'."""
    _check_key_name(key_name)
    encoded = base64.b64encode(_ED25519_TYPE + _raw_public_key(public_key)).decode(
        "ascii"
    )
    return f"{key_name}+{key_id(key_name, public_key).hex()}+{encoded}"


def _decode_base64(text: str, what: str) -> bytes:
    """Strictly decode standard base64, raising CheckpointError."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CheckpointError(f"{what} is not valid base64") from exc


def _parse_verifier_key(verifier_key: str) -> _Verifier:
    """Parse and self-check a vkey string."""
    # The base64 part may itself contain '+', so split from the left only twice.
    parts = verifier_key.split("+", 2)
    if len(parts) != 3:
        raise CheckpointError(
            "verifier key must look like <name>+<key id>+<base64 key>"
        )
    name, hex_id, encoded = parts
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise CheckpointError("verifier key ID must be 8 lowercase hex digits")
    material = _decode_base64(encoded, "verifier key")
    if len(material) != 1 + _ED25519_PUBLIC_KEY_SIZE or material[:1] != _ED25519_TYPE:
        raise CheckpointError("verifier key is not an Ed25519 (type 0x01) key")
    public_key = Ed25519PublicKey.from_public_bytes(material[1:])
    if key_id(name, public_key).hex() != hex_id:
        raise CheckpointError("verifier key ID does not match its name and public key")
    return _Verifier(name=name, key_id=bytes.fromhex(hex_id), public_key=public_key)


def _check_text(text: str) -> None:
    """Enforce the signed-note text rules shared by signing and opening."""
    if not text.endswith("\n"):
        raise CheckpointError("note text must end with a newline")
    if _CONTROL_CHARACTERS.search(text):
        raise CheckpointError("note contains control characters")


def sign_note(text: str, key_name: str, private_key: Ed25519PrivateKey) -> str:
    """Return text signed as a C2SP signed note by one Ed25519 key."""
    _check_key_name(key_name)
    _check_text(text)
    signature = private_key.sign(text.encode("utf-8"))
    blob = key_id(key_name, private_key.public_key()) + signature
    encoded = base64.b64encode(blob).decode("ascii")
    return f"{text}\n{_SIGNATURE_PREFIX}{key_name} {encoded}\n"


def open_note(note_text: str, verifier_key: str) -> str:
    """Verify a signed note against one trusted vkey and return its text."""
    verifier = _parse_verifier_key(verifier_key)
    _check_text(note_text)
    # The text may itself contain blank lines; the signatures start after the last one.
    split = note_text.rfind("\n\n")
    if split < 0:
        raise CheckpointError("note has no blank line before its signatures")
    text, signature_block = note_text[: split + 1], note_text[split + 2 :]
    signature_lines = signature_block[:-1].split("\n") if signature_block else []
    if not signature_lines:
        raise CheckpointError("note has no signatures")
    if len(signature_lines) > _MAX_SIGNATURES:
        raise CheckpointError(f"note has more than {_MAX_SIGNATURES} signatures")

    verified = False
    for line in signature_lines:
        if not line.startswith(_SIGNATURE_PREFIX):
            raise CheckpointError(
                "signature line must start with an em dash and a space"
            )
        name, space, encoded = line[len(_SIGNATURE_PREFIX) :].partition(" ")
        if not space or " " in encoded:
            raise CheckpointError(
                "signature line must be '\u2014 <key name> <base64 signature>'"
            )
        _check_key_name(name)
        blob = _decode_base64(encoded, "signature")
        if len(blob) <= _KEY_ID_SIZE:
            raise CheckpointError("signature is too short to hold a key ID")
        # Unknown keys (witness cosignatures, rotated keys) must be ignored.
        if name != verifier.name or blob[:_KEY_ID_SIZE] != verifier.key_id:
            continue
        if len(blob) != _KEY_ID_SIZE + _ED25519_SIGNATURE_SIZE:
            raise CheckpointError("Ed25519 signature has the wrong length")
        try:
            verifier.public_key.verify(blob[_KEY_ID_SIZE:], text.encode("utf-8"))
        except InvalidSignature as exc:
            raise CheckpointError(f"signature by {name} does not verify") from exc
        verified = True
    if not verified:
        raise CheckpointError(f"note carries no signature by {verifier.name}")
    return text


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse checkpoint note text (no signatures) per c2sp.org/tlog-checkpoint."""
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("checkpoint needs origin, tree size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("checkpoint origin is empty")
    if not _TREE_SIZE_PATTERN.fullmatch(size_text):
        raise CheckpointError("tree size must be decimal without leading zeros")
    size = int(size_text)
    if size > _MAX_TREE_SIZE:
        raise CheckpointError("tree size does not fit in 64 bits")
    root_hash = _decode_base64(root_text, "root hash")
    if len(root_hash) != _ROOT_HASH_SIZE:
        raise CheckpointError(f"root hash must be {_ROOT_HASH_SIZE} bytes")
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint extension lines must be non-empty")
    return Checkpoint(
        origin=origin, size=size, root_hash=root_hash, extensions=tuple(extensions)
    )


def sign_checkpoint(
    cp: Checkpoint, key_name: str, private_key: Ed25519PrivateKey
) -> str:
    """Return the full signed-note text of a checkpoint."""
    return sign_note(cp.body(), key_name, private_key)


def parse_and_verify(
    note_text: str, verifier_key: str, expected_origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint against a trusted vkey and return the checkpoint."""
    checkpoint = parse_checkpoint_body(open_note(note_text, verifier_key))
    if expected_origin is not None and checkpoint.origin != expected_origin:
        raise CheckpointError(
            f"checkpoint origin {checkpoint.origin!r} is not {expected_origin!r}"
        )
    return checkpoint


def load_or_create_signing_key(path: pathlib.Path) -> Ed25519PrivateKey:
    """Load the PKCS#8 PEM Ed25519 key at path, creating it (mode 0600) on first use."""
    path = pathlib.Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        create_secret_file(path, pem)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as exc:
        raise CheckpointError(f"{path} does not hold a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path} holds a non-Ed25519 key")
    return key
