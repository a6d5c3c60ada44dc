"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and verification.

Pure standard library. Every tree is described by its leaf hashes, i.e. already
``leaf_hash(data)``-ed values, so callers can keep those in storage and never
re-read the raw entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A Merkle inclusion or consistency proof did not verify."""


def leaf_hash(data: bytes) -> bytes:
    """Return the RFC 9162 leaf hash SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 9162 interior node hash SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleAccumulator:
    """Incremental Merkle tree holding only the O(log n) perfect-subtree peaks.

    The peaks are the roots of the perfect subtrees that the binary expansion of
    the current size splits the leaves into, largest (leftmost) first.
    """

    __slots__ = ("_on_complete", "_peaks", "_size")

    def __init__(self, on_complete: Callable[[int, int, bytes], None] | None = None) -> None:
        """`on_complete(start, size, root)` hears of every perfect subtree of two or more leaves as the
        leaf that completes it arrives (the ledger's verifier checks stored subtree roots with it)."""
        self._peaks: list[bytes] = []
        self._size = 0
        self._on_complete = on_complete

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def append(self, leaf_hash_value: bytes) -> None:
        """Append one leaf hash (not raw data) to the tree."""
        if len(leaf_hash_value) != HASH_SIZE:
            raise ValueError(
                f"leaf hash must be {HASH_SIZE} bytes, got {len(leaf_hash_value)}"
            )
        peaks = self._peaks
        merged = leaf_hash_value
        # Each trailing 1 bit of the old size is a peak the new leaf now completes.
        carry = self._size
        width = 1
        while carry & 1:
            merged = node_hash(peaks.pop(), merged)
            carry >>= 1
            width <<= 1
            if self._on_complete is not None:
                self._on_complete(self._size + 1 - width, width, merged)
        peaks.append(merged)
        self._size += 1

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append every leaf hash from an iterable, in order."""
        for value in leaf_hashes:
            self.append(value)

    def root(self) -> bytes:
        """Return the RFC 9162 MTH of the leaves appended so far."""
        if not self._peaks:
            return EMPTY_ROOT
        # MTH splits at the largest power of two, which is exactly the leftmost peak,
        # so the peaks fold from right to left.
        result = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            result = node_hash(peak, result)
        return result


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Return the RFC 9162 Merkle tree hash (MTH) of the leaf hashes in one pass."""
    accumulator = MerkleAccumulator()
    accumulator.extend(hashes)
    return accumulator.root()


def subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """Return the MTH of leaf_hashes[start:end]."""
    if not 0 <= start <= end <= len(leaf_hashes):
        raise ValueError(
            f"invalid range [{start}, {end}) for {len(leaf_hashes)} leaves"
        )
    if start == end:
        return EMPTY_ROOT
    perfect_root = getattr(leaf_hashes, "perfect_root", None)
    if perfect_root is None:
        # One slice per subtree keeps lazy (storage-backed) sequences to one range read.
        return root_from_leaf_hashes(leaf_hashes[start:end])
    return _split_root(perfect_root, start, end)


def _split_root(perfect_root: Callable[[int, int], bytes], start: int, end: int) -> bytes:
    """MTH of [start, end) by RFC 9162's own split, asking a store for each perfect subtree's root
    (perfect_root(start, size), size a power of two): O(log n) subtrees instead of n leaves."""
    size = end - start
    if size & (size - 1) == 0:
        return perfect_root(start, size)
    k = _largest_power_of_two_below(size)
    return node_hash(_split_root(perfect_root, start, start + k), _split_root(perfect_root, start + k, end))


def _check_tree_size(leaf_hashes: Sequence[bytes], tree_size: int) -> None:
    """Reject tree sizes the given leaves cannot describe."""
    if not 0 <= tree_size <= len(leaf_hashes):
        raise ValueError(f"tree size {tree_size} outside [0, {len(leaf_hashes)}]")


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, tree_size: int
) -> list[bytes]:
    """Return the RFC 9162 section 2.1.3.1 audit path PATH(index, D[0:tree_size])."""
    _check_tree_size(leaf_hashes, tree_size)
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf index {index} outside tree of size {tree_size}")
    # Walking from the root finds siblings top-down; the proof lists them bottom-up.
    siblings: list[bytes] = []
    start, end, m = 0, tree_size, index
    while end - start > 1:
        k = _largest_power_of_two_below(end - start)
        if m < k:
            siblings.append(subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            siblings.append(subtree_root(leaf_hashes, start, start + k))
            start += k
            m -= k
    siblings.reverse()
    return siblings


def consistency_proof(
    leaf_hashes: Sequence[bytes], first: int, second: int
) -> list[bytes]:
    """Return the RFC 9162 2.1.4.1 consistency proof PROOF(first, D[0:second])."""
    _check_tree_size(leaf_hashes, second)
    if first == second:
        return []
    if not 0 < first < second:
        raise ValueError(
            f"consistency proof needs 0 < first < second, got {first} and {second}"
        )
    nodes: list[bytes] = []
    start, end, m, is_original_tree = 0, second, first, True
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            nodes.append(subtree_root(leaf_hashes, start + k, end))
            end = start + k
        else:
            nodes.append(subtree_root(leaf_hashes, start, start + k))
            start += k
            m -= k
            is_original_tree = False
    if not is_original_tree:
        # SUBPROOF with b=false emits the old subtree root the verifier cannot know.
        nodes.append(subtree_root(leaf_hashes, start, end))
    nodes.reverse()
    return nodes


def _check_hash(value: bytes, what: str) -> None:
    """Raise ProofError unless value has the SHA-256 digest length."""
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an RFC 9162 2.1.3.2 inclusion proof, raising ProofError on failure."""
    if index < 0 or tree_size < 0:
        raise ProofError(f"negative leaf index {index} or tree size {tree_size}")
    if index >= tree_size:
        raise ProofError(f"leaf index {index} is not below tree size {tree_size}")
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root hash")
    for position, element in enumerate(proof):
        _check_hash(element, f"proof element {position}")

    fn, sn = index, tree_size - 1
    result = leaf_hash
    for element in proof:
        if sn == 0:
            raise ProofError(
                f"inclusion proof has {len(proof)} elements, too many for this tree"
            )
        if fn & 1 or fn == sn:
            result = node_hash(element, result)
            # On the right edge of an unbalanced tree, skip levels without a sibling.
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"inclusion proof has {len(proof)} elements, too few for this tree"
        )
    if result != root:
        raise ProofError("inclusion proof does not lead to the expected root hash")


def verify_consistency(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    """Check an RFC 9162 2.1.4.2 consistency proof, raising ProofError on failure."""
    if first < 0 or second < 0:
        raise ProofError(f"negative tree size {first} or {second}")
    if first > second:
        raise ProofError(f"first tree size {first} exceeds second tree size {second}")
    if first == second:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if first == 0 and (first_root != EMPTY_ROOT or second_root != EMPTY_ROOT):
            raise ProofError("an empty tree must have the empty root hash")
        if first_root != second_root:
            raise ProofError("trees of equal size have different root hashes")
        return
    if first == 0:
        # Every tree extends the empty tree, so there is nothing a proof could show.
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if not proof:
        raise ProofError("consistency proof is empty")
    _check_hash(first_root, "first root hash")
    _check_hash(second_root, "second root hash")
    for position, element in enumerate(proof):
        _check_hash(element, f"proof element {position}")

    path = list(proof)
    if first & (first - 1) == 0:
        # The old tree is a complete subtree of the new one: its root is omitted.
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first_result = second_result = path[0]
    for element in path[1:]:
        if sn == 0:
            raise ProofError(
                f"consistency proof has {len(proof)} elements, too many for these trees"
            )
        if fn & 1 or fn == sn:
            first_result = node_hash(element, first_result)
            second_result = node_hash(element, second_result)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            second_result = node_hash(second_result, element)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(
            f"consistency proof has {len(proof)} elements, too few for these trees"
        )
    if first_result != first_root:
        raise ProofError("consistency proof does not lead to the first root hash")
    if second_result != second_root:
        raise ProofError("consistency proof does not lead to the second root hash")
