"""Proofs over the stored ledger read the roots of whole perfect subtrees (ledger_nodes, kept once a proof
has needed them) instead of rehashing every leaf, and give exactly the proofs the plain RFC 9162
computation over all leaf hashes gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from projections.db import Database
from server.config import Settings
from server.ledger.merkle import consistency_proof, inclusion_proof, root_from_leaf_hashes, verify_inclusion
from server.ledger.store import NODE_MIN, LedgerStore, StoredLeaf, StoredLeafHashes

LEAVES = 5 * NODE_MIN + 37  # several stored levels, and a ragged right edge


@pytest.fixture
def store(settings: Settings, backend: str, tmp_path: Path) -> Any:
    db = Database(postgres_url=settings.database_url) if settings.uses_postgres else Database(tmp_path / "ledger.db")
    made = LedgerStore(db)
    made.create_tables()
    hashes = [hashlib.sha256(b"leaf %d" % i).digest() for i in range(LEAVES)]
    made.append(StoredLeaf(i, 1000 + i, value) for i, value in enumerate(hashes))
    made.hashes = hashes
    yield made
    db.close()


def stored_nodes(store: LedgerStore) -> int:
    with store.db.transaction() as cur:
        cur.execute("SELECT COUNT(*) FROM ledger_nodes")
        return int(cur.fetchone()[0])


def test_proofs_from_stored_subtrees_equal_the_plain_computation(store: Any) -> None:
    rng = random.Random(7)
    sizes = [1, 2, NODE_MIN - 1, NODE_MIN, NODE_MIN + 1, 2 * NODE_MIN, 3 * NODE_MIN + 5, LEAVES]
    for size in sizes:
        stored = StoredLeafHashes(store, size)
        plain = store.hashes[:size]
        for index in {0, size - 1, size // 2, rng.randrange(size)}:
            assert inclusion_proof(stored, index, size) == inclusion_proof(plain, index, size)
            root = root_from_leaf_hashes(plain)
            verify_inclusion(plain[index], index, size, inclusion_proof(stored, index, size), root)
        for first in {1, size // 3, size - 1} - {0}:
            if first < size:
                assert consistency_proof(stored, first, size) == consistency_proof(plain, first, size)
    assert stored_nodes(store) > 0  # the whole subtrees went into ledger_nodes


def count_leaf_reads(store: LedgerStore, monkeypatch: Any) -> list[int]:
    """From now on, how many leaves each read of the store asks for."""
    read: list[int] = []
    leaves = store.leaves

    def counting(start: int, stop: int) -> Any:
        read.append(stop - start)
        return leaves(start, stop)

    monkeypatch.setattr(store, "leaves", counting)
    return read


def test_a_second_proof_reads_stored_subtrees_not_leaves(store: Any, monkeypatch: Any) -> None:
    size = LEAVES
    first = inclusion_proof(StoredLeafHashes(store, size), 3, size)
    read = count_leaf_reads(store, monkeypatch)
    again = inclusion_proof(StoredLeafHashes(store, size), 3, size)
    assert again == first
    # Only the small subtrees next to the leaf and along the ragged edge are hashed from leaves now.
    assert sum(read) < 2 * NODE_MIN + 64


def test_the_follower_stores_subtree_roots_as_it_completes_them_so_even_the_first_proof_hashes_little(
    store: Any, monkeypatch: Any
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from server.ledger.log import LedgerFollower, Signer

    class NothingNew:
        def select_notifications(self, start: int | None, limit: int) -> list[Any]:
            return []

    signer = Signer("pantau.test/ledger", Ed25519PrivateKey.generate())
    LedgerFollower(NothingNew(), store, maker=None, signer=signer).catch_up()  # a restart: reads the table
    aligned = {(start, size) for size in (NODE_MIN, 2 * NODE_MIN, 4 * NODE_MIN)
               for start in range(0, LEAVES - size + 1, size)}
    assert set(store.nodes()) == aligned
    for (start, size), root in store.nodes().items():
        assert root == root_from_leaf_hashes(store.hashes[start : start + size])
    read = count_leaf_reads(store, monkeypatch)
    monkeypatch.setattr(store, "add_node", lambda *_: pytest.fail("a proof had to compute a stored-size root"))
    proof = inclusion_proof(StoredLeafHashes(store, LEAVES), 3, LEAVES)
    assert proof == inclusion_proof(store.hashes, 3, LEAVES)
    assert sum(read) < 2 * NODE_MIN + 64  # the first proof, not a second one


def test_a_tampered_stored_subtree_root_is_caught_by_ledger_verify(
    runner: Any, settings: Settings, seeded: Any, backend: str
) -> None:
    from uuid import uuid4

    from server.domain.base import Context
    from server.domain.roles import Actor
    from server.ledger.commands import ledger as ledger_commands
    from server.ledger.service import open_ledger
    from tests.conftest import PPS
    from tests.factories import visit_body

    admin = Actor("a1", "kpu_satu", "kpu_admin", None)
    context = Context(admin.username, admin.role)
    while (seeded.recorder.max_notification_id() or 0) < NODE_MIN + 20:
        seeded.record_visit(admin, {**visit_body(PPS), "id": str(uuid4())}, context)
    opened = open_ledger(settings, seeded)
    try:
        opened.follower.checkpoint_now()
        size = opened.follower.size
        [newest] = opened.store.leaves(size - 1, size)
        opened.proofs.inclusion(newest.position)  # its path passes the whole first NODE_MIN leaves
        assert (0, NODE_MIN) in opened.store.nodes()
        untouched = runner.invoke(ledger_commands, ["verify"])
        assert untouched.exit_code == 0, untouched.output
        with opened.store.db.transaction(write=True) as cur:
            forged = ("00" * 32, NODE_MIN)
            cur.execute("UPDATE ledger_nodes SET node_hash = ? WHERE start_index = 0 AND size = ?", forged)
        tampered = runner.invoke(ledger_commands, ["verify"])
    finally:
        opened.close()
    assert tampered.exit_code == 1, tampered.output
    assert f"stored subtree root of leaves 0..{NODE_MIN - 1} does not match the events" in tampered.output


def test_a_proof_over_leaves_the_ledger_lost_is_refused_and_nothing_is_stored(store: Any) -> None:
    from server.domain.errors import ConflictError

    with store.db.transaction(write=True) as cur:
        cur.execute("DELETE FROM ledger_leaves WHERE leaf_index = 300")
    with pytest.raises(ConflictError, match="run `pantau ledger verify`"):
        inclusion_proof(StoredLeafHashes(store, LEAVES), LEAVES - 1, LEAVES)
    assert (256, 256) not in store.nodes() and (0, 512) not in store.nodes()
