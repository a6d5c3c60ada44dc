"""The ledger follower: hashes every new event into the Merkle tree and signs checkpoints when due.

It reads the event store only through the recorder's `select_notifications`, which works the same on
SQLite and PostgreSQL. Leaf index and log position differ: PostgreSQL's sequence skips a number when an
insert rolls back, so each leaf records the position it came from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.ledger.checkpoint import Checkpoint, sign_checkpoint, verifier_key_string
from server.ledger.leaf import LeafMaker
from server.ledger.merkle import MerkleAccumulator, leaf_hash
from server.ledger.store import NODE_MIN, LedgerStore, StoredCheckpoint, StoredLeaf

log = logging.getLogger(__name__)
_SYNC_CHUNK = 10_000


class StoredNotification(Protocol):
    id: int
    originator_id: object
    originator_version: int
    topic: str
    state: bytes


class NotificationSource(Protocol):
    """The part of the library's application recorder the ledger uses."""

    def select_notifications(self, start: int | None, limit: int) -> Sequence[StoredNotification]: ...


@dataclass(frozen=True)
class CheckpointPolicy:
    """Sign a checkpoint once `every` new leaves exist, or `minutes` after the last one if anything is new."""

    every: int = 1000
    minutes: float = 60.0


@dataclass(frozen=True)
class Signer:
    """Who signs checkpoints: the log's origin line doubles as the signed-note key name."""

    origin: str
    private_key: Ed25519PrivateKey

    @property
    def verifier_key(self) -> str:
        """The published verifier key string (c2sp.org/signed-note)."""
        return verifier_key_string(self.origin, self.private_key.public_key())

    def sign(self, size: int, root: bytes) -> str:
        """The signed checkpoint note for one tree head."""
        return sign_checkpoint(Checkpoint(origin=self.origin, size=size, root_hash=root), self.origin, self.private_key)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LedgerFollower:
    """Keeps the ledger tables level with the event store; safe to run in several processes at once."""

    def __init__(
        self,
        source: NotificationSource,
        store: LedgerStore,
        maker: LeafMaker,
        signer: Signer,
        policy: CheckpointPolicy | None = None,
        batch_size: int = 500,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.source = source
        self.store = store
        self.maker = maker
        self.signer = signer
        self.policy = policy or CheckpointPolicy()
        self.batch_size = batch_size
        self.clock = clock
        # The roots of the stored-size subtrees the tree completes, waiting for `_sync` to store them: so
        # even a proof's first call after a restart reads O(log n) stored roots instead of hashing leaves.
        self._completed: list[tuple[int, int, bytes]] = []
        self._tree = MerkleAccumulator(on_complete=self._keep_node)
        self._last_position = 0

    @property
    def size(self) -> int:
        """Leaves in the tree as this process last saw it."""
        return self._tree.size

    def catch_up(self) -> int:
        """Add a leaf for every event recorded since the last call, then sign a checkpoint if one is due.

        Returns the number of leaves added. An event whose state cannot be decoded stops the follower
        with LeafError rather than putting a wrong leaf into a log that can never be rewritten.
        """
        self._sync()
        added = 0
        while True:
            notifications = self.source.select_notifications(self._last_position + 1, self.batch_size)
            if not notifications:
                break
            index = self._tree.size
            leaves = []
            for offset, item in enumerate(notifications):
                data = self.maker.leaf_of_stored(
                    item.id, item.originator_id, item.originator_version, item.topic, item.state
                )
                leaves.append(StoredLeaf(index + offset, item.id, leaf_hash(data)))
            self.store.append(leaves)
            before = self._tree.size
            # Re-read rather than trust our own batch: another process may have appended first.
            self._sync()
            added += self._tree.size - before
        if self._checkpoint_due():
            self.issue_checkpoint()
        return added

    def issue_checkpoint(self) -> StoredCheckpoint:
        """Sign the current tree head now (unless a checkpoint already covers it) and return the latest."""
        self._sync()
        latest = self.store.latest_checkpoint()
        if latest is not None and latest.tree_size >= self._tree.size:
            return latest
        size, root = self._tree.size, self._tree.root()
        checkpoint = StoredCheckpoint(size, root, self.signer.sign(size, root), self.clock())
        self.store.add_checkpoint(checkpoint)
        log.info("ledger checkpoint signed at tree size %d", size)
        return checkpoint

    def checkpoint_now(self) -> StoredCheckpoint:
        """Catch up with the event store, then sign (the on-demand path)."""
        self.catch_up()
        return self.issue_checkpoint()

    def _checkpoint_due(self) -> bool:
        latest = self.store.latest_checkpoint()
        if latest is None:
            return self._tree.size > 0
        pending = self._tree.size - latest.tree_size
        if pending <= 0:
            return False
        overdue = self.clock() - latest.issued_at >= timedelta(minutes=self.policy.minutes)
        return pending >= self.policy.every or overdue

    def _keep_node(self, start: int, size: int, root: bytes) -> None:
        if size >= NODE_MIN:
            self._completed.append((start, size, root))

    def _sync(self) -> None:
        """Bring the in-memory tree level with the leaves table (O(n) once per process, then incremental),
        and store the roots of the large perfect subtrees it completed on the way (read from the table,
        so they are the roots of the stored leaves, as `pantau ledger verify` checks)."""
        total = self.store.size()
        while self._tree.size < total:
            chunk = self.store.leaves(self._tree.size, min(total, self._tree.size + _SYNC_CHUNK))
            if not chunk:
                break
            for leaf in chunk:
                if leaf.leaf_index != self._tree.size:
                    raise RuntimeError(f"ledger_leaves has no leaf {self._tree.size}; run `pantau ledger verify`")
                self._tree.append(leaf.leaf_hash)
                self._last_position = leaf.position
            self.store.add_nodes(self._completed)
            self._completed.clear()
