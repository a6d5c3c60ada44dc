"""Ledger: RFC 9162 leaf hashing and accumulation against bare hashlib over the same bytes; proof latency."""

from __future__ import annotations

import hashlib
import os
import random
import time

from server.ledger.merkle import MerkleAccumulator, inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_inclusion
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
        times = []
        for _ in range(3 if size >= 10**6 else 10):
            index = rng.randrange(size)
            started = time.perf_counter()
            proof = inclusion_proof(tree, index, size)
            times.append(time.perf_counter() - started)
            verify_inclusion(tree[index], index, size, proof, root)
        times.sort()
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
