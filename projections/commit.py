"""One batch of a view group, committed whole: rows, positions and the worker's lag figure together.

Shared by the worker and the pipeline's writer process, which imports nothing heavier than this."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from projections import tracking
from projections.db import Database


def commit_batch(db: Database, names: list[str], start: int, end: int, last_time: datetime,
                 apply: Callable[[Any], None]) -> bool:
    """In one transaction: check that the views named still stand at `start`, `apply` the batch's rows,
    move the views to `end`. False (and nothing written) if they had moved."""
    with db.transaction(write=True) as cur:
        if db.is_postgres:
            # Without waiting for the WAL flush: a server crash may lose the last batches, rows and
            # positions together (same transaction), so the worker simply applies them again. Nothing
            # is ever half-applied or applied twice. Only here: the ledger and the push outbox commit durably.
            cur.execute("SET LOCAL synchronous_commit = off")
        tracking.lock(cur, names)
        current = tracking.positions(cur)
        if any(current.get(name, 0) != start for name in names):
            return False
        apply(cur)
        tracking.advance_all(cur, names, end)
        record_lag(cur, end, last_time)
        db.announce(cur)
    return True


def record_lag(cur: Any, position: int, event_time: datetime) -> None:
    """How long the newest applied event took from being saved to being visible in the read models."""
    now = datetime.now(UTC)
    lag_ms = max(0, int((now - event_time).total_seconds() * 1000))
    cur.execute(
        "INSERT INTO rm_worker_status (id, last_position, last_lag_ms, updated_at) VALUES (1, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_position = excluded.last_position, "
        "last_lag_ms = excluded.last_lag_ms, updated_at = excluded.updated_at",
        (position, lag_ms, now.isoformat()),
    )
