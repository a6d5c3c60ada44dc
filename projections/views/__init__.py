"""The read models. Each is a View: its tables, how each event changes them, how to drop them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

from projections.db import Cursor
from server.domain.committee import parent_code
from server.domain.errors import InvalidInputError

# (log position, decoded domain event): what the worker hands every view, decoded once per batch.
Item = tuple[int, Any]


class BoundedMemo(dict):  # type: ignore[type-arg]
    """Values computed on first use and kept until the memo is full, when it empties itself.

    For work every view repeats on the same event (its time, its record's id) or that repeats across
    events (an audit line): a hit is a plain dict lookup in C. Not lru_cache: nearly every call of the
    first view misses, and lru_cache's bookkeeping on a miss cost more than the work itself (measured on
    a 20,000-event log)."""

    def __init__(self, compute: Callable[[Any], Any], limit: int) -> None:
        super().__init__()
        self._compute = compute
        self._limit = limit

    def __missing__(self, key: Any) -> Any:
        if len(self) >= self._limit:
            self.clear()
        value = self[key] = self._compute(key)
        return value


MEMO_LIMIT = 8192
_ISO_UTC = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def _utc_text(moment: datetime) -> str:
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    # Formatted by hand: half the cost of isoformat() on these machines.
    return _ISO_UTC % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond)


def _hyphenated(uuid_int: int) -> str:
    digits = f"{uuid_int:032x}"  # what UUID.__str__ does, from the int
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


_isos = BoundedMemo(_utc_text, MEMO_LIMIT)
_record_ids = BoundedMemo(_hyphenated, MEMO_LIMIT)


def iso(moment: datetime) -> str:
    """UTC, fixed width, microseconds always present: stored times sort as text on both engines."""
    return _isos[moment]


def record_id(originator_id: UUID) -> str:
    """A record's id as the read models store it (the canonical hyphenated form)."""
    return _record_ids[originator_id.int]  # keyed by the int: a UUID hashes in Python code, an int in C


@lru_cache(maxsize=100_000)  # area codes are few and repeat in every batch
def parent_of(code: str | None) -> str | None:
    """The PPK above a PPS; None for a PPK, for no code, and for anything that is not an area code."""
    if not code:
        return None
    try:
        return parent_code(code)
    except InvalidInputError:
        return None


def parse_iso(text: str) -> datetime:
    """Inverse of `iso` (and any ISO 8601 time with an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@lru_cache(maxsize=1024)  # event classes are few: name each once
def type_names(kind: type) -> tuple[str, str]:
    """(aggregate type, event type) of an event class: ('Complaint', 'Complaint.Escalated'), as in the
    event catalogue."""
    return kind.__qualname__.split(".")[0], kind.__qualname__


class View:
    """A read model: tables plus an event handler, kept at its own log position."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    # The event classes that change this view; None means every event. The worker does not even decode
    # an event that no view of a batch listens to (a view rebuilt alone skips most of the log).
    events: ClassVar[frozenset[type] | None] = None
    # Secondary indexes serving the read side's filters, as "name ON table (columns)". A rebuild creates
    # them after its replay: building an index once from the finished table costs a fraction of
    # updating it row by row, and these are the most written b-trees of the whole worker.
    indexes: ClassVar[tuple[str, ...]] = ()

    def create(self, cur: Cursor, with_indexes: bool = True) -> None:
        """Create tables (and, unless told otherwise, the secondary indexes) if missing."""
        self.create_tables(cur)
        if with_indexes:
            self.create_indexes(cur)

    def create_tables(self, cur: Cursor) -> None:
        """Create the tables, with the keys the view's own writes look rows up by."""
        raise NotImplementedError

    def create_indexes(self, cur: Cursor) -> None:
        """Create the secondary indexes if missing."""
        for index in self.indexes:
            cur.execute(f"CREATE INDEX IF NOT EXISTS {index}")

    def apply(self, cur: Cursor, position: int, event: Any) -> None:
        """Change the rows for one event at one log position."""
        self.apply_batch(cur, [(position, event)])

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        """Change the rows for a batch of events, in log order (views write each table once per batch)."""
        raise NotImplementedError

    def forget(self) -> None:
        """Drop whatever rows the view remembers from earlier batches (see projections.batch.Rows)."""

    def drop(self, cur: Cursor) -> None:
        """Remove every table of this view (for a rebuild from zero)."""
        for table in self.tables:
            cur.execute(f"DROP TABLE IF EXISTS {table}")
