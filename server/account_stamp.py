"""Accounts served from memory on SQLite, a revocation still effective at once in every process.

A SQLite store lives on one machine, so its processes can share a file: `<store>.accounts`, 8 bytes
that every save of account events overwrites with fresh random bytes once it has committed
(server/persistence.py), before it returns. A process vouches for an account it loaded after reading
those bytes for as long as they stay the same: after any account change anywhere it asks the store
again. Reading them is a memory read (mmap), where the check it saves was a query per request (the
library's fast-forward of the cached account). The PostgreSQL counterpart, for processes on many
machines, is server/account_listener.py.

An aligned 8-byte copy is one store and one load on the machines we run on, so a reader sees the old
bytes or the new ones; even a torn read would only differ from both, which costs one more query.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from uuid import UUID

SIZE = 8


class AccountStamp:
    """The shared bytes and what this process vouched for under them (the Vouchers of SQLite)."""

    def __init__(self, path: Path | str) -> None:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < SIZE:
                os.ftruncate(descriptor, SIZE)  # zeros; a process that lost this race changes nothing
            self._map = mmap.mmap(descriptor, SIZE)
        finally:
            os.close(descriptor)
        self._vouched: dict[UUID, bytes] = {}
        self.vouchers = self  # as AccountListener.vouchers: what CoherentRepository asks

    def changed(self) -> None:
        """An account changed (its events are committed): every process must ask the store again."""
        self._map[:SIZE] = os.urandom(SIZE)

    def stamp(self) -> bytes:
        return self._map[:SIZE]

    def vouch(self, account_id: UUID, stamp: bytes) -> None:
        self._vouched[account_id] = stamp

    def vouches(self, account_id: UUID) -> bool:
        return self._vouched.get(account_id) == self._map[:SIZE]

    def close(self) -> None:
        self._map.close()
