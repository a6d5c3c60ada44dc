"""Where the ledger keeps leaf hashes and signed checkpoints: its own SQLite file, or `ledger_` tables in PostgreSQL.

Only hashes are stored, never event content: the event store stays the one source of the events, and the
ledger is what proves it unchanged. Hashes are hex text so one SQL text serves both engines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import overload

import psycopg

from projections.db import Database
from server.domain.errors import ConflictError
from server.ledger.merkle import node_hash, root_from_leaf_hashes

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ledger_leaves (
        leaf_index BIGINT PRIMARY KEY,
        position BIGINT NOT NULL UNIQUE,
        leaf_hash TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ledger_checkpoints (
        tree_size BIGINT PRIMARY KEY,
        root_hash TEXT NOT NULL,
        note TEXT NOT NULL,
        issued_at TEXT NOT NULL
    )""",
    # Roots of perfect, aligned subtrees of NODE_MIN leaves or more, kept as proofs first need them.
    # Leaves are never rewritten, so a root below the tree size never changes.
    """CREATE TABLE IF NOT EXISTS ledger_nodes (
        start_index BIGINT NOT NULL,
        size BIGINT NOT NULL,
        node_hash TEXT NOT NULL,
        PRIMARY KEY (start_index, size)
    )""",
)
# Below this many leaves a subtree's root is hashed from one range read of its leaves, not stored.
NODE_MIN = 256


@dataclass(frozen=True)
class StoredLeaf:
    leaf_index: int
    position: int
    leaf_hash: bytes


@dataclass(frozen=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str
    issued_at: datetime


def _checkpoint(row: Sequence[object]) -> StoredCheckpoint:
    size, root, note, issued_at = row
    return StoredCheckpoint(int(size), bytes.fromhex(str(root)), str(note), datetime.fromisoformat(str(issued_at)))


class LedgerStore:
    """Leaf hashes in log order and the checkpoints signed over them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create_tables(self) -> None:
        """Idempotent schema setup."""
        try:
            with self.db.transaction(write=True) as cur:
                for statement in SCHEMA:
                    cur.execute(statement)
        except (sqlite3.Error, psycopg.Error):
            # Two processes starting at once: PostgreSQL lets one lose on its catalog's unique index.
            with self.db.transaction() as cur:
                cur.execute("SELECT COUNT(*) FROM ledger_leaves, ledger_checkpoints, ledger_nodes WHERE 1 = 0")

    def size(self) -> int:
        """How many leaves the ledger holds."""
        with self.db.transaction() as cur:
            cur.execute("SELECT COUNT(*) FROM ledger_leaves")
            return int(cur.fetchone()[0])

    def last_position(self) -> int:
        """The log position of the newest leaf, 0 for an empty ledger."""
        with self.db.transaction() as cur:
            cur.execute("SELECT MAX(position) FROM ledger_leaves")
            value = cur.fetchone()[0]
        return int(value or 0)

    def append(self, leaves: Iterable[StoredLeaf]) -> None:
        """Add leaves; a leaf another process already added is left as it is (both computed the same)."""
        rows = [(leaf.leaf_index, leaf.position, leaf.leaf_hash.hex()) for leaf in leaves]
        if not rows:
            return
        with self.db.transaction(write=True) as cur:
            cur.executemany(
                "INSERT INTO ledger_leaves (leaf_index, position, leaf_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                rows,
            )

    def leaves(self, start: int, stop: int) -> list[StoredLeaf]:
        """Leaves with start <= leaf_index < stop, in order."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT leaf_index, position, leaf_hash FROM ledger_leaves"
                " WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index",
                (start, stop),
            )
            rows = cur.fetchall()
        return [StoredLeaf(int(i), int(p), bytes.fromhex(h)) for i, p, h in rows]

    def leaf_at_position(self, position: int) -> StoredLeaf | None:
        """The leaf recorded for one log position, if the ledger has followed that far."""
        with self.db.transaction() as cur:
            cur.execute("SELECT leaf_index, position, leaf_hash FROM ledger_leaves WHERE position = ?", (position,))
            row = cur.fetchone()
        return None if row is None else StoredLeaf(int(row[0]), int(row[1]), bytes.fromhex(row[2]))

    def node(self, start: int, size: int) -> bytes | None:
        """A stored perfect subtree root, if a proof has needed it before."""
        with self.db.transaction() as cur:
            cur.execute("SELECT node_hash FROM ledger_nodes WHERE start_index = ? AND size = ?", (start, size))
            row = cur.fetchone()
        return None if row is None else bytes.fromhex(row[0])

    def nodes(self) -> dict[tuple[int, int], bytes]:
        """Every stored subtree root by (start, size): about two per NODE_MIN leaves."""
        with self.db.transaction() as cur:
            cur.execute("SELECT start_index, size, node_hash FROM ledger_nodes")
            rows = cur.fetchall()
        return {(int(start), int(size)): bytes.fromhex(value) for start, size, value in rows}

    def add_node(self, start: int, size: int, root: bytes) -> None:
        """Keep a perfect subtree root (two processes computing it at once computed the same)."""
        self.add_nodes([(start, size, root)])

    def add_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """Keep perfect subtree roots given as (start, size, root), in one transaction."""
        if not nodes:
            return
        with self.db.transaction(write=True) as cur:
            cur.executemany(
                "INSERT INTO ledger_nodes (start_index, size, node_hash) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(start, size, root.hex()) for start, size, root in nodes],
            )

    def add_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Record a signed checkpoint; Ed25519 is deterministic, so a duplicate is the same note."""
        with self.db.transaction(write=True) as cur:
            cur.execute(
                "INSERT INTO ledger_checkpoints (tree_size, root_hash, note, issued_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (checkpoint.tree_size, checkpoint.root_hash.hex(), checkpoint.note, checkpoint.issued_at.isoformat()),
            )

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint over the largest tree."""
        with self.db.transaction() as cur:
            cur.execute(
                "SELECT tree_size, root_hash, note, issued_at FROM ledger_checkpoints ORDER BY tree_size DESC LIMIT 1"
            )
            row = cur.fetchone()
        return None if row is None else _checkpoint(row)

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every checkpoint, smallest tree first."""
        with self.db.transaction() as cur:
            cur.execute("SELECT tree_size, root_hash, note, issued_at FROM ledger_checkpoints ORDER BY tree_size")
            rows = cur.fetchall()
        return [_checkpoint(row) for row in rows]


class StoredLeafHashes(Sequence[bytes]):
    """The first `size` leaf hashes as a lazy sequence: the proof code reads one range per subtree, and
    asks `perfect_root` for whole perfect subtrees (kept in ledger_nodes once computed)."""

    def __init__(self, store: LedgerStore, size: int) -> None:
        self._store = store
        self._size = size

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, item: int) -> bytes: ...
    @overload
    def __getitem__(self, item: slice) -> list[bytes]: ...
    def __getitem__(self, item: int | slice) -> bytes | list[bytes]:
        if isinstance(item, slice):
            start, stop, step = item.indices(self._size)
            if step != 1:
                raise ValueError("only contiguous ranges are supported")
            return [leaf.leaf_hash for leaf in self._store.leaves(start, stop)]
        index = item + self._size if item < 0 else item
        if not 0 <= index < self._size:
            raise IndexError(item)
        return self._store.leaves(index, index + 1)[0].leaf_hash

    def perfect_root(self, start: int, size: int) -> bytes:
        """MTH of the `size` (a power of two) leaves from `start`: stored, or computed from its halves and
        stored. Small or unaligned subtrees are hashed from their leaves."""
        if start + size > self._size:
            raise IndexError(f"subtree [{start}, {start + size}) is beyond the tree of size {self._size}")
        if size < NODE_MIN or start % size:
            hashes = self[start : start + size]
            if len(hashes) != size:  # never a root (and never a stored one) over leaves that are not there
                raise ConflictError(
                    f"The ledger holds {len(hashes)} of the leaves {start}..{start + size - 1}; "
                    "run `pantau ledger verify`."
                )
            return root_from_leaf_hashes(hashes)
        stored = self._store.node(start, size)
        if stored is not None:
            return stored
        half = size // 2
        root = node_hash(self.perfect_root(start, half), self.perfect_root(start + half, half))
        self._store.add_node(start, size, root)
        return root
