"""Committee status facts kept by a web process on PostgreSQL until the read models next commit.

GET /committees/{code} is the most frequent read. On SQLite its one statement is a local call; on
PostgreSQL it is a network round trip, which cost as much CPU as the rest of the request. The worker
announces every commit that changes the views (`Database.announce`), the process's listener counts them
(server/account_listener.py), and the facts read for a committee are kept while
- no commit was announced since they were read (a read model is already a moment behind the log; this
  adds the few milliseconds a notification takes to arrive),
- the listener's lease holds (else notifications may be missed, and nothing is kept), and
- the clock moved less than FACTS_SECONDS: the overdue-correction counts depend on the time of reading,
  and a correction becomes overdue without any commit.
Reads with `min_position` or `as_of` never come here: they ask the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from server.account_listener import Vouchers

FACTS_SECONDS = 1.0
MAX_ENTRIES = 100_000  # more than the country's committees; cleared whole when reached

Facts = list[dict[str, Any]]


class StatusCache:
    """Facts per committee, read again when stale; a pass-through without a listener (SQLite)."""

    def __init__(self, vouchers: Vouchers | None) -> None:
        self._vouchers = vouchers
        self._entries: dict[str, tuple[tuple[int, int], datetime, str, Facts]] = {}

    def facts(self, code: str, kind: str, moment: datetime, load: Callable[[], Facts]) -> Facts:
        """The facts for a committee at `moment`: kept ones if still true, else `load()`ed (and kept)."""
        stamp = self._vouchers.readmodels_stamp() if self._vouchers is not None else None
        if stamp is None:
            return load()
        entry = self._entries.get(code)
        if entry is not None:
            kept_stamp, read_at, kept_kind, kept = entry
            if kept_stamp == stamp and kept_kind == kind and abs((moment - read_at).total_seconds()) < FACTS_SECONDS:
                return kept
        facts = load()  # the stamp was taken before: a commit announced meanwhile makes this entry stale
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[code] = (stamp, moment, kind, facts)
        return facts
