"""Committee status facts kept by a web process until the read models next commit.

GET /committees/{code} is the most frequent read, and its one statement cost as much CPU as the rest
of the request (on PostgreSQL a network round trip). The facts read for a committee are kept while
- no commit to the read models happened since they were read, as the `stamp` says: on SQLite
  `Database.commit_count` (exact: SQLite counts every commit to the file, from any process); on
  PostgreSQL the worker announces its commits (`Database.announce`) and the process's listener counts
  them (server/account_listener.py), a few milliseconds after each commit, and says nothing (None, so
  nothing is kept) while its lease does not hold, when it may miss some; and
- the clock moved less than FACTS_SECONDS: the overdue-correction counts depend on the time of reading,
  and a correction becomes overdue without any commit.
Reads with `min_position` or `as_of` never come here: they ask the database.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

FACTS_SECONDS = 1.0
MAX_ENTRIES = 100_000  # more than the country's committees; cleared whole when reached

Facts = list[dict[str, Any]]


class StatusCache:
    """Facts per committee, read again when stale; a pass-through while `stamp` says None."""

    def __init__(self, stamp: Callable[[], Hashable | None]) -> None:
        self._stamp = stamp
        self._entries: dict[str, tuple[Hashable, datetime, str, Facts]] = {}

    def facts(self, code: str, kind: str, moment: datetime, load: Callable[[], Facts]) -> Facts:
        """The facts for a committee at `moment`: kept ones if still true, else `load()`ed (and kept)."""
        stamp = self._stamp()
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
