"""RFC 9162 Merkle tree tests: shared interop vectors and exhaustive small trees."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from server.ledger.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS_DIR = (
    Path(__file__).resolve().parents[2].parent / "shared" / "testdata" / "rfc9162"
)
MAX_EXHAUSTIVE_SIZE = 40


def _vector_files() -> list[Path]:
    """Return every shared vector file, or an empty list when the folder is absent."""
    if not VECTORS_DIR.is_dir():
        return []
    return sorted(VECTORS_DIR.rglob("*.json"))


def _b64(value: str | None) -> bytes:
    """Decode a base64 field, treating JSON null as empty."""
    return base64.b64decode(value or "")


def _naive_root(hashes: list[bytes]) -> bytes:
    """Recursive MTH transcribed directly from RFC 9162 section 2.1.1, as an oracle."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(_naive_root(hashes[:k]), _naive_root(hashes[k:]))


def _leaves(count: int) -> list[bytes]:
    """Return distinct leaf hashes for a tree of the given size."""
    return [leaf_hash(f"event-{i}".encode()) for i in range(count)]


def _flip_bit(value: bytes, bit: int) -> bytes:
    """Return value with one bit inverted."""
    flipped = bytearray(value)
    flipped[bit // 8 % len(value)] ^= 1 << (bit % 8)
    return bytes(flipped)


def test_shared_vectors_folder_is_present() -> None:
    """Guard: a missing folder must not silently shrink the vector suite to nothing."""
    if VECTORS_DIR.is_dir():
        assert _vector_files(), f"no json vectors under {VECTORS_DIR}"
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"RFC 9162 vectors missing at {VECTORS_DIR}")
    pytest.skip(f"RFC 9162 vectors not found at {VECTORS_DIR}")


@pytest.mark.parametrize(
    "vector_path",
    _vector_files(),
    ids=lambda path: path.relative_to(VECTORS_DIR).as_posix(),
)
def test_every_shared_rfc9162_vector_is_accepted_or_rejected_as_expected(
    vector_path: Path,
) -> None:
    vector = json.loads(vector_path.read_text())
    proof = [_b64(element) for element in vector["proof"] or []]
    if "leafIdx" in vector:

        def check() -> None:
            verify_inclusion(
                _b64(vector["leafHash"]),
                vector["leafIdx"],
                vector["treeSize"],
                proof,
                _b64(vector["root"]),
            )
    else:

        def check() -> None:
            verify_consistency(
                vector["size1"],
                vector["size2"],
                _b64(vector["root1"]),
                _b64(vector["root2"]),
                proof,
            )

    if vector["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


def test_leaf_and_node_hashes_use_the_rfc9162_domain_separation_prefixes() -> None:
    assert leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    ) == EMPTY_ROOT
    assert node_hash(b"a", b"b") != node_hash(b"b", b"a")


def test_roots_up_to_size_70_agree_between_accumulator_batch_and_naive_recursion() -> (
    None
):
    leaves = _leaves(70)
    accumulator = MerkleAccumulator()
    assert accumulator.root() == EMPTY_ROOT
    for size in range(71):
        if size:
            accumulator.append(leaves[size - 1])
        expected = _naive_root(leaves[:size])
        assert accumulator.size == size
        assert accumulator.root() == expected, size
        assert root_from_leaf_hashes(leaves[:size]) == expected, size


def test_root_of_the_rfc_reference_tree_matches_the_known_value() -> None:
    # The 8-leaf tree used by RFC 6962 reference implementations and the vectors.
    data = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    root = root_from_leaf_hashes([leaf_hash(item) for item in data])
    assert (
        base64.b64encode(root).decode()
        == "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="
    )


def test_accumulator_rejects_values_that_are_not_leaf_hashes() -> None:
    with pytest.raises(ValueError):
        MerkleAccumulator().append(b"raw event bytes")


def test_subtree_root_of_a_range_matches_the_root_of_that_slice() -> None:
    leaves = _leaves(23)
    for start in range(24):
        for end in range(start, 24):
            assert subtree_root(leaves, start, end) == _naive_root(leaves[start:end])


def test_generated_inclusion_proofs_verify_for_every_index_and_size_up_to_40() -> None:
    leaves = _leaves(MAX_EXHAUSTIVE_SIZE)
    for size in range(1, MAX_EXHAUSTIVE_SIZE + 1):
        root = _naive_root(leaves[:size])
        for index in range(size):
            proof = inclusion_proof(leaves, index, size)
            verify_inclusion(leaves[index], index, size, proof, root)


def test_generated_consistency_proofs_verify_for_every_pair_of_sizes_up_to_40() -> None:
    leaves = _leaves(MAX_EXHAUSTIVE_SIZE)
    roots = [_naive_root(leaves[:size]) for size in range(MAX_EXHAUSTIVE_SIZE + 1)]
    for second in range(1, MAX_EXHAUSTIVE_SIZE + 1):
        for first in range(1, second + 1):
            proof = consistency_proof(leaves, first, second)
            verify_consistency(first, second, roots[first], roots[second], proof)


def test_inclusion_proof_with_a_flipped_bit_is_rejected() -> None:
    leaves = _leaves(13)
    root = _naive_root(leaves)
    for index in range(13):
        proof = inclusion_proof(leaves, index, 13)
        for position in range(len(proof)):
            for bit in (0, 77, 255):
                tampered = list(proof)
                tampered[position] = _flip_bit(tampered[position], bit)
                with pytest.raises(ProofError):
                    verify_inclusion(leaves[index], index, 13, tampered, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, 13, proof, _flip_bit(root, index))
        with pytest.raises(ProofError):
            verify_inclusion(_flip_bit(leaves[index], 3), index, 13, proof, root)


def test_consistency_proof_with_a_flipped_bit_is_rejected() -> None:
    leaves = _leaves(13)
    roots = [_naive_root(leaves[:size]) for size in range(14)]
    for first in range(1, 13):
        proof = consistency_proof(leaves, first, 13)
        for position in range(len(proof)):
            tampered = list(proof)
            tampered[position] = _flip_bit(tampered[position], 100)
            with pytest.raises(ProofError):
                verify_consistency(first, 13, roots[first], roots[13], tampered)
        with pytest.raises(ProofError):
            verify_consistency(first, 13, _flip_bit(roots[first], 1), roots[13], proof)
        with pytest.raises(ProofError):
            verify_consistency(first, 13, roots[first], _flip_bit(roots[13], 1), proof)


def test_inclusion_proof_with_a_missing_or_extra_element_is_rejected() -> None:
    leaves = _leaves(11)
    root = _naive_root(leaves)
    proof = inclusion_proof(leaves, 4, 11)
    with pytest.raises(ProofError, match="too few"):
        verify_inclusion(leaves[4], 4, 11, proof[:-1], root)
    with pytest.raises(ProofError, match="too many"):
        verify_inclusion(leaves[4], 4, 11, [*proof, root], root)
    with pytest.raises(ProofError, match="32 bytes"):
        verify_inclusion(leaves[4], 4, 11, [*proof[:-1], proof[-1][:31]], root)


def test_inclusion_verification_rejects_an_index_outside_the_tree() -> None:
    leaves = _leaves(4)
    with pytest.raises(ProofError, match="not below"):
        verify_inclusion(
            leaves[0], 4, 4, inclusion_proof(leaves, 0, 4), _naive_root(leaves)
        )
    with pytest.raises(ProofError):
        verify_inclusion(leaves[0], 0, 0, [], EMPTY_ROOT)


def test_consistency_between_equal_sizes_needs_an_empty_proof_and_equal_roots() -> None:
    leaves = _leaves(5)
    root = _naive_root(leaves)
    verify_consistency(5, 5, root, root, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, root, root, [root])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, root, _flip_bit(root, 9), [])


def test_consistency_from_the_empty_tree_or_to_a_smaller_tree_is_rejected() -> None:
    leaves = _leaves(5)
    root = _naive_root(leaves)
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 5, EMPTY_ROOT, root, [root])
    with pytest.raises(ProofError, match="exceeds"):
        verify_consistency(5, 3, root, _naive_root(leaves[:3]), [])


def test_proof_generation_rejects_impossible_arguments() -> None:
    leaves = _leaves(6)
    with pytest.raises(ValueError):
        inclusion_proof(leaves, 6, 6)
    with pytest.raises(ValueError):
        inclusion_proof(leaves, 0, 7)
    with pytest.raises(ValueError):
        consistency_proof(leaves, 0, 6)
    with pytest.raises(ValueError):
        consistency_proof(leaves, 4, 3)
    assert consistency_proof(leaves, 6, 6) == []


class _CountingSequence:
    """A lazy leaf store that only supports len and slicing, and counts range reads."""

    def __init__(self, leaves: list[bytes]) -> None:
        self._leaves = leaves
        self.reads = 0

    def __len__(self) -> int:
        return len(self._leaves)

    def __getitem__(self, key: slice) -> list[bytes]:
        assert isinstance(key, slice), (
            "proof builders should read ranges, not single leaves"
        )
        self.reads += 1
        return self._leaves[key]


def test_proofs_can_be_built_from_a_lazy_sequence_with_logarithmic_range_reads() -> (
    None
):
    leaves = _leaves(1000)
    lazy = _CountingSequence(leaves)
    proof = inclusion_proof(lazy, 617, 1000)  # type: ignore[arg-type]
    verify_inclusion(leaves[617], 617, 1000, proof, _naive_root(leaves))
    assert lazy.reads == len(proof) <= 10
    proof = consistency_proof(lazy, 300, 1000)  # type: ignore[arg-type]
    verify_consistency(300, 1000, _naive_root(leaves[:300]), _naive_root(leaves), proof)
