"""Rebuild read models from zero: drop, recreate, replay the whole log, then index."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from projections import tracking
from projections.worker import Worker


def reset(worker: Worker, names: Sequence[str], with_indexes: bool = True) -> None:
    """Drop and recreate the views' tables and zero their positions, all in one transaction.

    A worker running meanwhile sees the views at zero and helps catch them up; the row lock on
    their positions keeps the two from applying the same batch twice.
    """
    views = [worker.view(name) for name in names]
    with worker.db.transaction(write=True) as cur:
        tracking.lock(cur, names)
        for view in views:
            view.drop(cur)
            view.create(cur, with_indexes=with_indexes)
            tracking.reset(cur, view.name)


def rebuild(worker: Worker, names: Sequence[str], progress: Callable[[int], None] | None = None) -> int:
    """Reset the named views, replay the log into them, then build their secondary indexes; the number
    of events applied. The read side answers (slowly) without those indexes, and if the rebuild is cut
    short, the next worker start creates them (`create_schema`)."""
    reset(worker, names, with_indexes=False)
    applied = worker.catch_up(progress)
    with worker.db.transaction(write=True) as cur:
        for name in names:
            worker.view(name).create_indexes(cur)
    return applied
