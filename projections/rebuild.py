"""Rebuild read models from zero: drop, recreate, replay the whole log."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from projections import tracking
from projections.pipeline import Pipeline
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
        worker.db.announce(cur)


def rebuild(worker: Worker, names: Sequence[str], progress: Callable[[int], None] | None = None) -> int:
    """Reset the named views and replay the log into them; the number of events applied.

    A long replay is pipelined (projections/pipeline.py): its writer process starts before the reset
    and keeps the secondary indexes up to date as it writes, beside the worker's own work. A short
    one runs in this process alone and builds those indexes after the replay: building an index once
    from the finished table costs a fraction of updating it row by row. The read side answers (slowly)
    without them, and if the rebuild is cut short, the next worker start creates them (`create_schema`)."""
    pipeline = Pipeline(worker.db) if worker.pipeline_worthwhile(behind=worker.log_end()) else None
    reset(worker, names, with_indexes=pipeline is not None)
    applied = worker.catch_up(progress, pipeline=pipeline)
    if pipeline is None:
        with worker.db.transaction(write=True) as cur:
            for name in names:
                worker.view(name).create_indexes(cur)
    return applied
