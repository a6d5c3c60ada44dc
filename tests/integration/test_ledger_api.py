"""The ledger API, checked by a verifier that shares no code with server.ledger.

The verifier below is written from the definitions in RFC 9162 section 2.1 (MTH, PATH, SUBPROOF) as
recursions, unlike the iterative algorithms in server/ledger/merkle.py, and it checks signed notes with
`cryptography` directly. Only hashlib, base64, json and rfc8785 are shared with the server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.config import Settings
from server.ledger.service import Ledger, open_ledger
from tests.integration.ledger_support import add_accounts

# --- an independent RFC 9162 verifier -----------------------------------------------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (RFC 9162 2.1.1, 'k')."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) by its recursive definition."""
    if not leaf_hashes:
        return _h(b"")
    if len(leaf_hashes) == 1:
        return leaf_hashes[0]
    k = _split(len(leaf_hashes))
    return _h(b"\x01" + mth(leaf_hashes[:k]) + mth(leaf_hashes[k:]))


def root_from_path(leaf: bytes, m: int, n: int, path: list[bytes]) -> bytes:
    """The root PATH(m, D[n]) leads to: PATH(m, D[0:k]) : MTH(D[k:n]) or PATH(m-k, D[k:n]) : MTH(D[0:k])."""
    if n == 1:
        assert not path, "path too long"
        return leaf
    assert path, "path too short"
    k = _split(n)
    *rest, sibling = path
    if m < k:
        return _h(b"\x01" + root_from_path(leaf, m, k, rest) + sibling)
    return _h(b"\x01" + sibling + root_from_path(leaf, m - k, n - k, rest))


def roots_from_subproof(m: int, n: int, complete: bool, proof: list[bytes], old_root: bytes) -> tuple[bytes, bytes]:
    """(old root, new root) that SUBPROOF(m, D[n], complete) proves."""
    if m == n:
        if complete:
            assert not proof, "proof too long"
            return old_root, old_root
        assert len(proof) == 1, "proof has the wrong length"
        return proof[0], proof[0]
    assert proof, "proof too short"
    k = _split(n)
    *rest, sibling = proof
    if m <= k:
        old, new = roots_from_subproof(m, k, complete, rest, old_root)
        return old, _h(b"\x01" + new + sibling)
    old, new = roots_from_subproof(m - k, n - k, False, rest, old_root)
    return _h(b"\x01" + sibling + old), _h(b"\x01" + sibling + new)


def check_inclusion(leaf: bytes, m: int, n: int, proof: list[bytes], root: bytes) -> bool:
    if not 0 <= m < n or any(len(value) != 32 for value in (leaf, root, *proof)):
        return False
    try:
        return root_from_path(leaf, m, n, proof) == root
    except AssertionError:
        return False


def check_consistency(m: int, n: int, proof: list[bytes], old_root: bytes, new_root: bytes) -> bool:
    if m == n:
        return not proof and old_root == new_root and (m > 0 or old_root == _h(b""))
    if not 0 < m < n or any(len(value) != 32 for value in (old_root, new_root, *proof)):
        return False
    try:
        return roots_from_subproof(m, n, True, proof, old_root) == (old_root, new_root)
    except AssertionError:
        return False


def open_checkpoint(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Check a C2SP signed checkpoint against a verifier key string; return (origin, size, root)."""
    name, key_id_hex, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64)
    assert key[0] == 1
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id_hex
    body, _, signatures = note.rpartition("\n\n")
    body += "\n"
    verified = False
    for line in signatures.splitlines():
        signer, blob_b64 = line.removeprefix("\u2014 ").split(" ")
        blob = base64.b64decode(blob_b64)
        if signer == name and blob[:4].hex() == key_id_hex:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], body.encode())
            verified = True
    assert verified
    origin, size, root = body.splitlines()[:3]
    return origin, int(size), base64.b64decode(root)


def b64list(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v) for v in values]


VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "rfc9162"


def test_the_independent_verifier_passes_the_shared_rfc9162_vectors() -> None:
    files = sorted(VECTORS.rglob("*.json"))
    if not files:
        pytest.skip(f"no RFC 9162 vectors at {VECTORS}")
    for path in files:
        vector = json.loads(path.read_text())
        proof = b64list(vector["proof"] or [])
        if "leafIdx" in vector:
            leaf, root = base64.b64decode(vector["leafHash"] or ""), base64.b64decode(vector["root"] or "")
            accepted = check_inclusion(leaf, vector["leafIdx"], vector["treeSize"], proof, root)
        else:
            old, new = base64.b64decode(vector["root1"] or ""), base64.b64decode(vector["root2"] or "")
            accepted = check_consistency(vector["size1"], vector["size2"], proof, old, new)
        assert accepted != vector["wantErr"], path


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(settings: Settings, seeded: Any, backend: str) -> Iterator[Ledger]:
    """The seeded log with a checkpoint, then more events and a second checkpoint."""
    opened = open_ledger(settings, seeded)
    opened.follower.catch_up()
    add_accounts(seeded, 5)
    opened.follower.checkpoint_now()
    yield opened
    opened.close()


def all_leaves(client: Any, headers: dict[str, str], size: int) -> list[bytes]:
    """Every leaf's bytes, fetched through the inclusion endpoint one position at a time."""
    leaves, position = [], 0
    while len(leaves) < size:
        position += 1
        response = client.get(f"/api/v1/ledger/proof/inclusion?position={position}", headers=headers)
        if response.status_code == 404:  # a gap in the positions (a rolled-back PostgreSQL insert)
            continue
        assert response.status_code == 200, response.json
        assert response.json["leaf_index"] == len(leaves)
        leaves.append(base64.b64decode(response.json["leaf"]))
    return leaves


# --- tests ----------------------------------------------------------------------------------------------


def test_served_proofs_verify_against_the_served_checkpoint_with_an_independent_verifier(
    client: Any, headers: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    auditor = headers["auditor"]
    vkey = client.get("/api/v1/ledger/public-key").get_data(as_text=True).strip()
    note = client.get("/api/v1/ledger/checkpoint").get_data(as_text=True)
    origin, size, root = open_checkpoint(note, vkey)
    assert origin == "pantau.kpu/pangkalpinang"

    # The whole tree, recomputed from the served leaf bytes, has the signed root.
    leaves = all_leaves(client, auditor, size)
    hashes = [_h(b"\x00" + leaf) for leaf in leaves]
    assert mth(hashes) == root
    for leaf in leaves:
        document = json.loads(leaf)
        assert rfc8785.dumps(document) == leaf  # canonical, so a third party can rebuild it byte for byte
        assert document["format"] == "pantau-leaf/1"

    rng = random.Random(9162)
    positions = [json.loads(leaf)["position"] for leaf in leaves]
    for _ in range(25):
        index = rng.randrange(size)
        tree_size = rng.choice([size, rng.randint(index + 1, size)])
        response = client.get(
            f"/api/v1/ledger/proof/inclusion?position={positions[index]}&tree_size={tree_size}", headers=auditor
        )
        assert response.status_code == 200
        body = response.json
        assert (body["leaf_index"], body["tree_size"]) == (index, tree_size)
        assert base64.b64decode(body["leaf_hash"]) == hashes[index]
        assert check_inclusion(hashes[index], index, tree_size, b64list(body["proof"]), mth(hashes[:tree_size]))

    for _ in range(25):
        first = rng.randint(1, size)
        second = rng.choice([size, rng.randint(first, size)])
        response = client.get(f"/api/v1/ledger/proof/consistency?first={first}&second={second}", headers=auditor)
        assert response.status_code == 200
        proof = b64list(response.json["proof"])
        assert check_consistency(first, second, proof, mth(hashes[:first]), mth(hashes[:second]))
        if first < second:
            assert not check_consistency(first, second, proof, _h(b"forged"), mth(hashes[:second]))


def test_the_latest_checkpoint_is_consistent_with_the_first_one(
    client: Any, headers: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    first, latest = ledger.store.checkpoints()[0], ledger.store.latest_checkpoint()
    assert latest is not None and first.tree_size < latest.tree_size
    vkey = ledger.verifier_key
    _, old_size, old_root = open_checkpoint(first.note, vkey)
    _, new_size, new_root = open_checkpoint(client.get("/api/v1/ledger/checkpoint").get_data(as_text=True), vkey)

    response = client.get(
        f"/api/v1/ledger/proof/consistency?first={old_size}&second={new_size}", headers=headers["legal"]
    )

    assert check_consistency(old_size, new_size, b64list(response.json["proof"]), old_root, new_root)


def test_the_checkpoint_and_public_key_are_public_and_also_served_as_json(client: Any, ledger: Ledger) -> None:
    text = client.get("/api/v1/ledger/checkpoint")
    as_json = client.get("/api/v1/ledger/checkpoint", headers={"Accept": "application/json"})
    key = client.get("/api/v1/ledger/public-key", headers={"Accept": "application/json"})

    assert text.mimetype == "text/plain"
    assert as_json.json["note"] == text.get_data(as_text=True)
    assert as_json.json["verifier_key"] == key.json["verifier_key"] == ledger.verifier_key
    assert as_json.json["tree_size"] == open_checkpoint(text.get_data(as_text=True), ledger.verifier_key)[1]


@pytest.mark.parametrize("role", ["auditor", "legal", "kpu_admin"])
def test_record_readers_of_the_ledger_may_fetch_proofs(
    role: str, client: Any, headers: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    assert client.get("/api/v1/ledger/proof/inclusion?position=1", headers=headers[role]).status_code == 200


@pytest.mark.parametrize("role", ["pps_officer", "ppk_officer"])
def test_field_officers_may_not_fetch_proofs(
    role: str, client: Any, headers: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    assert client.get("/api/v1/ledger/proof/inclusion?position=1", headers=headers[role]).status_code == 403
    assert client.get("/api/v1/ledger/proof/inclusion?position=1").status_code == 401


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("inclusion", 422),
        ("inclusion?position=abc", 422),
        ("inclusion?position=0", 422),
        ("inclusion?position=-3", 422),
        ("inclusion?position=1.5", 422),
        ("inclusion?position=99999999999999999999999", 422),
        ("inclusion?position=1&tree_size=0", 422),
        ("inclusion?position=1&tree_size=100000", 422),
        ("inclusion?position=1&colour=red", 422),
        ("inclusion?position=100000", 404),
        ("consistency", 422),
        ("consistency?first=5", 422),
        ("consistency?first=0&second=5", 422),
        ("consistency?first=6&second=5", 422),
        ("consistency?first=1&second=100000", 422),
        ("consistency?first=x&second=5", 422),
    ],
)
def test_bad_proof_requests_are_refused_as_problems_never_as_server_errors(
    query: str, status: int, client: Any, headers: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    response = client.get(f"/api/v1/ledger/proof/{query}", headers=headers["auditor"])

    assert response.status_code == status
    assert response.mimetype == "application/problem+json"


def test_a_position_in_the_ledger_but_beyond_the_requested_tree_is_refused(
    client: Any, headers: dict[str, dict[str, str]], ledger: Ledger
) -> None:
    size = ledger.store.size()
    last = ledger.store.leaves(size - 1, size)[0].position

    response = client.get(f"/api/v1/ledger/proof/inclusion?position={last}&tree_size=3", headers=headers["auditor"])

    assert response.status_code == 422
    assert "outside a tree of size 3" in response.json["detail"]


def test_before_the_first_checkpoint_the_checkpoint_is_not_found(client: Any, seeded: Any) -> None:
    response = client.get("/api/v1/ledger/checkpoint")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
