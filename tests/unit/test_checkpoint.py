"""C2SP signed-note checkpoint tests, including the Go sumdb/note interop vector."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_or_create_signing_key,
    open_note,
    parse_and_verify,
    sign_checkpoint,
    sign_note,
    verifier_key_string,
)

ORIGIN = "pantau.example/log"
ROOT = hashlib.sha256(b"some root").digest()

# Published example of golang.org/x/mod/sumdb/note. Ed25519 is deterministic, so
# matching it byte for byte proves Go verifiers will accept our notes.
GO_SIGNER_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT
    + "\n\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    + "vqfqdngotpRZb6KE6RyyBwJnAM="
    + "\n"
)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def vkey(key: Ed25519PrivateKey) -> str:
    return verifier_key_string(ORIGIN, key.public_key())


@pytest.fixture(scope="module")
def signed(key: Ed25519PrivateKey) -> str:
    return sign_checkpoint(
        Checkpoint(origin=ORIGIN, size=1234, root_hash=ROOT), ORIGIN, key
    )


def test_signed_checkpoint_has_the_c2sp_layout(signed: str) -> None:
    body, signature_line = signed.split("\n\n")
    assert body == f"{ORIGIN}\n1234\n{base64.b64encode(ROOT).decode()}"
    assert signature_line.startswith(f"\u2014 {ORIGIN} ")
    assert signature_line.endswith("\n")
    assert len(base64.b64decode(signature_line.split(" ")[2])) == 4 + 64


def test_signed_checkpoint_round_trips_through_parse_and_verify(
    signed: str, vkey: str
) -> None:
    assert parse_and_verify(signed, vkey, expected_origin=ORIGIN) == Checkpoint(
        ORIGIN, 1234, ROOT
    )


def test_empty_tree_checkpoint_round_trips(key: Ed25519PrivateKey, vkey: str) -> None:
    empty = Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest())
    assert parse_and_verify(sign_checkpoint(empty, ORIGIN, key), vkey) == empty


def test_verifier_key_string_matches_the_signed_note_key_id_rule(
    key: Ed25519PrivateKey, vkey: str
) -> None:
    name, hex_id, material = vkey.split("+", 2)
    raw = base64.b64decode(material)
    assert name == ORIGIN
    assert raw[0] == 1 and len(raw) == 33
    assert (
        hex_id
        == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + raw[1:]).digest()[:4].hex()
    )


def test_our_note_signature_matches_the_go_sumdb_note_example_byte_for_byte() -> None:
    go_key = Ed25519PrivateKey.from_private_bytes(GO_SIGNER_SEED)
    assert verifier_key_string("PeterNeumann", go_key.public_key()) == GO_VERIFIER_KEY
    assert sign_note(GO_TEXT, "PeterNeumann", go_key) == GO_NOTE
    assert open_note(GO_NOTE, GO_VERIFIER_KEY) == GO_TEXT


@pytest.mark.parametrize(
    ("original", "replacement"),
    [
        ("\n1234\n", "\n1235\n"),
        (ORIGIN + "\n", "pantau.example/other\n"),
        (
            base64.b64encode(ROOT).decode(),
            base64.b64encode(hashlib.sha256(b"other").digest()).decode(),
        ),
    ],
    ids=["size", "origin", "root"],
)
def test_checkpoint_with_a_tampered_body_is_rejected(
    signed: str, vkey: str, original: str, replacement: str
) -> None:
    tampered = signed.replace(original, replacement, 1)
    assert tampered != signed
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(tampered, vkey)


def test_checkpoint_with_a_tampered_signature_is_rejected(
    signed: str, vkey: str
) -> None:
    prefix, encoded = signed.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    with pytest.raises(CheckpointError, match="does not verify"):
        parse_and_verify(f"{prefix} {base64.b64encode(bytes(blob)).decode()}\n", vkey)


def test_checkpoint_signed_by_a_different_key_is_rejected(vkey: str) -> None:
    impostor = sign_checkpoint(
        Checkpoint(ORIGIN, 1234, ROOT), ORIGIN, Ed25519PrivateKey.generate()
    )
    with pytest.raises(CheckpointError, match="no signature"):
        parse_and_verify(impostor, vkey)


def test_checkpoint_verified_with_the_wrong_verifier_key_is_rejected(
    signed: str,
) -> None:
    other = verifier_key_string(ORIGIN, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(CheckpointError):
        parse_and_verify(signed, other)


def test_unknown_cosignatures_are_ignored(signed: str, vkey: str) -> None:
    witness = sign_note("ignored\n", "witness.example", Ed25519PrivateKey.generate())
    cosigned = signed + witness.split("\n\n")[1]
    assert parse_and_verify(cosigned, vkey).size == 1234


def test_checkpoint_for_an_unexpected_origin_is_rejected(
    signed: str, vkey: str
) -> None:
    with pytest.raises(CheckpointError, match="origin"):
        parse_and_verify(signed, vkey, expected_origin="pantau.example/elsewhere")


@pytest.mark.parametrize(
    "body",
    [
        "pantau.example/log\n0012\nAAAA\n",
        "pantau.example/log\n-1\n" + base64.b64encode(ROOT).decode() + "\n",
        "pantau.example/log\n12\n" + base64.b64encode(ROOT[:31]).decode() + "\n",
        "pantau.example/log\n12\n",
        "\n12\n" + base64.b64encode(ROOT).decode() + "\n",
        "pantau.example/log\n12\n" + base64.b64encode(ROOT).decode() + "\n\n",
    ],
    ids=[
        "leading-zero",
        "negative-size",
        "short-root",
        "missing-root",
        "empty-origin",
        "empty-extension",
    ],
)
def test_malformed_checkpoint_bodies_are_rejected_even_when_signed(
    key: Ed25519PrivateKey, vkey: str, body: str
) -> None:
    with pytest.raises(CheckpointError):
        parse_and_verify(sign_note(body, ORIGIN, key), vkey)


@pytest.mark.parametrize(
    "note",
    [
        "",
        "no signatures\n",
        "text\n\n",
        "text\n\n- dash pantau AAAA\n",
        "text\r\n\n\u2014 x AAAAAAAA\n",
    ],
    ids=[
        "empty",
        "no-blank-line",
        "no-signature-lines",
        "hyphen-not-em-dash",
        "carriage-return",
    ],
)
def test_malformed_notes_are_rejected(vkey: str, note: str) -> None:
    with pytest.raises(CheckpointError):
        parse_and_verify(note, vkey)


def test_malformed_verifier_keys_are_rejected(vkey: str, signed: str) -> None:
    name, hex_id, material = vkey.split("+", 2)
    wrong_id = f"{int(hex_id, 16) ^ 1:08x}"
    for bad in [
        "",
        name,
        f"{name}+{hex_id}",
        f"{name}+{wrong_id}+{material}",
        f"{name}+{hex_id}+AAAA",
    ]:
        with pytest.raises(CheckpointError):
            parse_and_verify(signed, bad)


def test_signing_key_file_is_created_once_with_mode_0600_and_reused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys" / "checkpoint.pem"
    first = load_or_create_signing_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    content = path.read_bytes()
    second = load_or_create_signing_key(path)
    assert path.read_bytes() == content
    assert verifier_key_string(ORIGIN, first.public_key()) == verifier_key_string(
        ORIGIN, second.public_key()
    )
    assert [entry.name for entry in path.parent.iterdir()] == ["checkpoint.pem"]


def test_signing_key_file_with_garbage_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pem"
    path.write_text("not a key")
    with pytest.raises(CheckpointError):
        load_or_create_signing_key(path)
