"""Answers for the ledger's readers: the latest checkpoint, inclusion proofs, consistency proofs."""

from __future__ import annotations

from dataclasses import dataclass

from server.domain.errors import ConflictError, InvalidInputError, NotFoundError
from server.ledger.leaf import LeafError, LeafMaker
from server.ledger.log import NotificationSource
from server.ledger.merkle import consistency_proof, inclusion_proof, leaf_hash
from server.ledger.store import LedgerStore, StoredCheckpoint, StoredLeafHashes


@dataclass(frozen=True)
class InclusionProof:
    position: int
    leaf_index: int
    tree_size: int
    leaf: bytes
    leaf_hash: bytes
    proof: list[bytes]


class LedgerProofs:
    """Read-only view of the ledger; every refusal is a domain error the API maps to one status code."""

    def __init__(self, source: NotificationSource, store: LedgerStore, maker: LeafMaker) -> None:
        self.source = source
        self.store = store
        self.maker = maker

    def latest_checkpoint(self) -> StoredCheckpoint:
        """The newest signed checkpoint."""
        checkpoint = self.store.latest_checkpoint()
        if checkpoint is None:
            raise NotFoundError("No checkpoint has been signed yet.")
        return checkpoint

    def leaf(self, position: int) -> bytes:
        """The leaf bytes of the event at a log position, recomputed from the event store."""
        found = self.source.select_notifications(position, 1)
        if not found or found[0].id != position:
            raise NotFoundError(f"No event at position {position}.")
        item = found[0]
        try:
            return self.maker.leaf_of_stored(
                item.id, item.originator_id, item.originator_version, item.topic, item.state
            )
        except LeafError as error:
            raise ConflictError(f"The event at position {position} cannot be decoded ({error}).") from None

    def inclusion(self, position: int, tree_size: int | None = None) -> InclusionProof:
        """PATH(leaf, D[0:tree_size]) for the event at `position`; tree_size defaults to the latest checkpoint."""
        size = self._tree_size(tree_size)
        stored = self.store.leaf_at_position(position)
        if stored is None:
            raise NotFoundError(f"Position {position} is not in the ledger (yet).")
        if stored.leaf_index >= size:
            raise InvalidInputError(
                f"Position {position} is leaf {stored.leaf_index}, outside a tree of size {size}.", "tree_size"
            )
        data = self.leaf(position)
        if leaf_hash(data) != stored.leaf_hash:
            # Serving a proof for content the tree never held would be worse than refusing.
            raise ConflictError(
                f"The event at position {position} no longer matches the ledger; run `pantau ledger verify`."
            )
        proof = inclusion_proof(StoredLeafHashes(self.store, size), stored.leaf_index, size)
        return InclusionProof(position, stored.leaf_index, size, data, stored.leaf_hash, proof)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """PROOF(first, D[0:second]): that the tree of size `second` extends the one of size `first`."""
        size = self.store.size()
        if second > size:
            raise InvalidInputError(f"The ledger holds {size} leaves; second={second} is beyond it.", "second")
        if not 1 <= first <= second:
            raise InvalidInputError("Consistency needs 1 <= first <= second.", "first")
        return consistency_proof(StoredLeafHashes(self.store, second), first, second)

    def _tree_size(self, requested: int | None) -> int:
        if requested is None:
            return self.latest_checkpoint().tree_size
        size = self.store.size()
        if not 1 <= requested <= size:
            raise InvalidInputError(
                f"The ledger holds {size} leaves; tree_size={requested} is outside it.", "tree_size"
            )
        return requested
