"""`pantau ledger verify`: recompute every leaf from the event store and check it against the ledger.

Three witnesses are compared: the events as stored now, the leaf hashes the follower recorded when it
first saw them, and the signed checkpoints. The first leaf that differs names the tampered position.
If someone rewrote the leaves table too, the signed checkpoints still catch it, to within the range
between two checkpoints. The stored subtree roots that proofs read (ledger_nodes) are checked against
the roots the events give, too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from server.ledger.checkpoint import CheckpointError, parse_and_verify
from server.ledger.leaf import LeafError, LeafMaker
from server.ledger.log import NotificationSource, StoredNotification
from server.ledger.merkle import EMPTY_ROOT, MerkleAccumulator, leaf_hash
from server.ledger.store import LedgerStore, StoredLeaf

# Stands in for a leaf that cannot be computed, so the roots above it cannot match by accident.
_UNDECODABLE = hashlib.sha256(b"pantau-ledger: undecodable event").digest()


@dataclass(frozen=True)
class Finding:
    """One discrepancy; `position` is the log position it concerns, when one can be named."""

    position: int | None
    message: str


@dataclass
class VerificationReport:
    events: int = 0
    leaves: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_position(self) -> int | None:
        """The lowest position any finding names."""
        positions = [f.position for f in self.findings if f.position is not None]
        return min(positions) if positions else None


def _events(source: NotificationSource, batch: int) -> Iterator[StoredNotification]:
    start = 1
    while True:
        items = source.select_notifications(start, batch)
        if not items:
            return
        yield from items
        start = items[-1].id + 1


def _stored_leaves(store: LedgerStore, batch: int) -> Iterator[StoredLeaf]:
    start = 0
    while True:
        items = store.leaves(start, start + batch)
        if not items:
            return
        yield from items
        start += batch


def _compare(
    index: int, event: StoredNotification | None, stored: StoredLeaf | None, recomputed: bytes | None
) -> Finding | None:
    """Why leaf `index` differs between the event store and the leaves table, or None if it does not."""
    if stored is None:
        return None  # an event the follower has not reached yet
    if stored.leaf_index != index:
        return Finding(stored.position, f"the ledger has no leaf {index}: its leaves table was altered")
    if event is None:
        return Finding(stored.position, f"position {stored.position}: event missing, the store ends before it")
    if event.id > stored.position:
        return Finding(stored.position, f"position {stored.position}: event missing (next stored event is {event.id})")
    if event.id < stored.position:
        return Finding(event.id, f"position {event.id}: event in the store but not in the ledger (inserted)")
    if recomputed is None:
        return Finding(event.id, f"position {event.id}: stored event cannot be decoded (altered)")
    if recomputed != stored.leaf_hash:
        return Finding(event.id, f"position {event.id}: event content does not match its ledger leaf (altered)")
    return None


def verify_ledger(
    source: NotificationSource, store: LedgerStore, maker: LeafMaker, verifier_key: str, origin: str, batch: int = 1000
) -> VerificationReport:
    """Check the event store against the leaves table and every signed checkpoint."""
    report = VerificationReport()
    roots: dict[int, bytes] = {}
    for checkpoint in store.checkpoints():
        report.checkpoints += 1
        try:
            signed = parse_and_verify(checkpoint.note, verifier_key, origin)
        except CheckpointError as error:
            report.findings.append(Finding(None, f"checkpoint of size {checkpoint.tree_size}: {error}"))
            continue
        # The signed note is the evidence; the columns beside it are only an index.
        roots[signed.size] = signed.root_hash

    stored_nodes = store.nodes()

    def check_node(start: int, size: int, root: bytes) -> None:
        # Proofs read these instead of the leaves: each must be the root the event store gives.
        stored_root = stored_nodes.get((start, size))
        if stored_root is not None and stored_root != root:
            report.findings.append(
                Finding(None, f"stored subtree root of leaves {start}..{start + size - 1} does not match the events")
            )

    from_events, from_table = MerkleAccumulator(check_node if stored_nodes else None), MerkleAccumulator()
    events, leaves = _events(source, batch), _stored_leaves(store, batch)
    # Position of the first leaf after the last checkpoint that matched: where a hidden change can begin.
    boundary: int | None = None
    last_good_size, leaf_finding = 0, False
    index = 0
    while True:
        event, stored = next(events, None), next(leaves, None)
        if event is None and stored is None:
            break
        recomputed: bytes | None = None
        if event is not None:
            report.events += 1
            try:
                recomputed = leaf_hash(
                    maker.leaf_of_stored(
                        event.id, event.originator_id, event.originator_version, event.topic, event.state
                    )
                )
            except LeafError:
                recomputed = None
            from_events.append(recomputed or _UNDECODABLE)
        if stored is not None:
            report.leaves += 1
            from_table.append(stored.leaf_hash)
        if not leaf_finding and (finding := _compare(index, event, stored, recomputed)):
            report.findings.append(finding)
            leaf_finding = True
        if index == last_good_size and event is not None:
            boundary = event.id
        index += 1
        if index in roots and _check_roots(report, index, roots[index], from_events, from_table, boundary):
            last_good_size = index
    if roots.get(0, EMPTY_ROOT) != EMPTY_ROOT:
        report.findings.append(Finding(None, "checkpoint of size 0 does not carry the empty tree's root"))
    for size in sorted(roots):
        if size > index:
            report.findings.append(Finding(None, f"checkpoint of size {size} covers more leaves than exist ({index})"))
    return report


def _check_roots(
    report: VerificationReport,
    size: int,
    root: bytes,
    from_events: MerkleAccumulator,
    from_table: MerkleAccumulator,
    boundary: int | None,
) -> bool:
    """Compare both trees with one signed root; False if either differs."""
    good = True
    if from_events.size == size and from_events.root() != root:
        where = f"; the first change is at or after position {boundary}" if boundary is not None else ""
        report.findings.append(Finding(None, f"checkpoint of size {size}: the event store no longer matches it{where}"))
        good = False
    elif from_events.size < size:
        report.findings.append(
            Finding(None, f"checkpoint of size {size}: the event store holds only {from_events.size} events")
        )
        good = False
    if from_table.size == size and from_table.root() != root:
        report.findings.append(Finding(None, f"checkpoint of size {size}: the ledger's leaves table does not match it"))
        good = False
    return good
