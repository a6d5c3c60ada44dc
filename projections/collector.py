"""Fewer garbage collections while the worker catches up.

Python's cyclic collector runs a young collection every 700 net allocations of container objects, and
every hundredth collection is a full one, which walks every object alive. Catching up keeps tens of
thousands of objects alive on purpose (the decoded events and rows of up to 32 batches, the memos,
the area-code caches), so the collector ran on and on over objects that were not garbage: 16% of the
worker's time during the national rebuild (18 s of CPU, 111 full collections), 12% on the 100x log,
while the baseline, which drops each event as soon as it is decoded, hardly ever collects. Reference
counting frees the events and rows when views forget them: the national rebuild's peak RSS stayed at
114 MiB with the raised threshold (129 MiB with no collections at all).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Net container allocations between young collections while catching up (Python's default: 700).
# Garbage that does form cycles waits at most this many objects, a few megabytes, for its collection.
YOUNG_THRESHOLD = 20_000

_lock = threading.Lock()
_users = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the young-generation threshold for the block; the last block to end restores it. The
    threshold is the process's, so blocks running at once in several threads (a worker thread catching
    up beside a rebuild in the same process) share one raise."""
    global _users, _saved
    with _lock:
        if _users == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                gc.set_threshold(*_saved)
