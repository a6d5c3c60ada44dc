"""Rebuild read models from zero: drop, recreate, replay the whole log."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from projections import tracking
from projections.worker import Worker


def reset(worker: Worker, names: Sequence[str]) -> None:
    """Drop and recreate the views' tables and zero their positions, all in one transaction.

    A worker running meanwhile sees the views at zero and helps catch them up; the row lock on
    their positions keeps the two from applying the same batch twice.
    """
    views = [worker.view(name) for name in names]
    with worker.db.transaction(write=True) as cur:
        tracking.lock(cur, names)
        for view in views:
            view.drop(cur)
            view.create(cur)
            tracking.reset(cur, view.name)


def rebuild(worker: Worker, names: Sequence[str], progress: Callable[[int], None] | None = None) -> int:
    """Reset the named views, then replay the log into them; the number of events applied."""
    reset(worker, names)
    return worker.catch_up(progress)
