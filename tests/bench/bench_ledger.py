"""Ledger: RFC 9162 leaf hashing and accumulation against bare hashlib over the same bytes; proof latency."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from projections.db import Database
from server.ledger.log import LedgerFollower, Signer
from server.ledger.merkle import MerkleAccumulator, inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_inclusion
from server.ledger.store import LedgerStore, StoredLeaf, StoredLeafHashes
from tests.bench.common import Figure, Results


def run(results: Results, leaves: int, proof_sizes: list[int]) -> None:
    entries = [os.urandom(200) for _ in range(leaves)]  # about a salted event commitment's size
    started = time.perf_counter()
    for entry in entries:
        hashlib.sha256(b"\x00" + entry).digest()
    bare = leaves / (time.perf_counter() - started)
    started = time.perf_counter()
    hashes = [leaf_hash(entry) for entry in entries]
    ours = leaves / (time.perf_counter() - started)
    results.add(Figure("ledger", "-", f"leaf_hash, {leaves:,} leaves of 200 B", ours, bare, "leaves/s"))
    started = time.perf_counter()
    accumulator = MerkleAccumulator()
    accumulator.extend(hashes)
    accumulated = leaves / (time.perf_counter() - started)
    results.add(
        Figure(
            "ledger",
            "-",
            "MerkleAccumulator.append (leaf hashes in)",
            accumulated,
            bare,
            "leaves/s",
            note="baseline: bare sha256 per leaf",
        )
    )
    rng = random.Random(8)
    for size in proof_sizes:
        tree = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(size)]
        root = root_from_leaf_hashes(tree)
        times = timed_proofs(tree, tree, root, rng, 3 if size >= 10**6 else 10)
        started = time.perf_counter()
        root_from_leaf_hashes(tree)
        full_root = time.perf_counter() - started
        results.add(
            Figure(
                "ledger",
                "-",
                f"inclusion proof at {size:,} leaves (median)",
                times[len(times) // 2] * 1000,
                full_root * 1000,
                "ms",
                higher_is_better=False,
                note="baseline: one full root recomputation",
            )
        )
        results.add(stored_proofs(tree, root, full_root, rng))


def timed_proofs(hashes: Sequence[bytes], tree: list[bytes], root: bytes, rng: random.Random, count: int
                 ) -> list[float]:
    """Seconds for `count` inclusion proofs at random leaves, computed from `hashes` (the plain list or
    the stored ledger), each checked against the tree's root; sorted."""
    size = len(tree)
    times = []
    for _ in range(count):
        index = rng.randrange(size)
        started = time.perf_counter()
        proof = inclusion_proof(hashes, index, size)
        times.append(time.perf_counter() - started)
        verify_inclusion(tree[index], index, size, proof, root)
    return sorted(times)


class _NothingNew:
    """An event store with nothing beyond the leaves already stored."""

    def select_notifications(self, start: int | None, limit: int) -> list[object]:
        return []


def stored_proofs(tree: list[bytes], root: bytes, full_root_s: float, rng: random.Random) -> Figure:
    """Inclusion proofs served from the stored ledger (SQLite), after a ledger follower has started over
    it (a restart: it reads the leaves and keeps the perfect subtree roots it completes in ledger_nodes);
    the figure is the median of 20 proofs after the first, and the first is reported beside it."""
    size = len(tree)
    with tempfile.TemporaryDirectory(prefix="pantau-ledger-") as tmp:
        db = Database(Path(tmp) / "ledger.sqlite3")
        store = LedgerStore(db)
        store.create_tables()
        store.append(StoredLeaf(i, i + 1, value) for i, value in enumerate(tree))
        signer = Signer("pantau.bench/ledger", Ed25519PrivateKey.generate())
        started = time.perf_counter()
        LedgerFollower(_NothingNew(), store, maker=None, signer=signer).catch_up()
        follower_start = time.perf_counter() - started
        started = time.perf_counter()
        inclusion_proof(StoredLeafHashes(store, size), 0, size)
        first = time.perf_counter() - started
        times = timed_proofs(StoredLeafHashes(store, size), tree, root, rng, 20)
        db.close()
    return Figure(
        "ledger",
        "-",
        f"inclusion proof from the stored ledger at {size:,} leaves (median after the first)",
        times[len(times) // 2] * 1000,
        full_root_s * 1000,
        "ms",
        higher_is_better=False,
        note=f"baseline: one full root recomputation; the first proof took {first * 1000:.1f} ms "
        f"(the follower's start over the stored leaves, which keeps the subtree roots, {follower_start:.1f} s)",
    )

