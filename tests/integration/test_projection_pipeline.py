"""The pipelined catch-up (projections/pipeline.py) leaves exactly the tables of the plain worker, also
when the views project batches whose predecessors are not committed yet, and a batch its writer
cannot commit is rolled back whole and reported."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from projections import pipeline
from projections.collector import YOUNG_THRESHOLD
from projections.commit import commit_batch
from projections.dump import dump
from projections.pipeline import DeferredWrites, Pipeline
from projections.reader import read_batch
from projections.rebuild import reset
from projections.worker import Worker
from projections.writer import replay
from tests.integration.test_projection_rebuild import write_history

BATCH = 3  # small batches: records begin in one batch and change in the next ones


def _names(worker: Worker) -> list[str]:
    return [view.name for view in worker.views]


def _plain_catch_up(worker: Worker) -> dict[str, Any]:
    """The views rebuilt batch by batch in one process, each batch read and written in one transaction."""
    reset(worker, _names(worker))
    while worker.run_once():
        pass
    return dump(worker.db, worker.views)


def _plain_tables_then_reset(worker: Worker) -> dict[str, Any]:
    """What the plain worker builds; the views are then back at zero for the pipeline to replay."""
    expected = _plain_catch_up(worker)
    reset(worker, _names(worker))
    return expected


@contextmanager
def _started_writer(worker: Worker) -> Iterator[Pipeline]:
    """A writer process that has opened the database, closed afterwards."""
    writer = Pipeline(worker.db)
    try:
        assert writer.ready(wait_seconds=30)
        yield writer
    finally:
        writer.close()


@pytest.fixture
def history(client: Any, headers: dict[str, dict[str, str]], worker: Worker) -> Worker:
    """Amended visits, complaints and corrections through their steps: a log of many small batches."""
    write_history(client, headers, worker)
    worker.batch_size = BATCH
    assert worker.log_end() > 20 * BATCH
    return worker


def test_every_batch_projected_before_any_is_committed_gives_the_plain_tables(history: Worker, backend: str) -> None:
    """The extreme of the pipeline: the views see none of their earlier batches in the database, only
    what they remember; the batches are committed afterwards, in order."""
    worker = history
    expected = _plain_tables_then_reset(worker)
    for view in worker.views:
        view.forget()
    sent: list[tuple[int, Any, DeferredWrites]] = []
    position = 0
    while (batch := read_batch(worker.application, position, None, worker.batch_size, None)) is not None:
        with worker.db.statement() as reads:
            cursor = DeferredWrites(reads)
            for view in worker.views:
                view.apply_batch(cursor, worker.items_for(view, batch.items))
        sent.append((position, batch, cursor))
        position = batch.last_position
    assert len(sent) > 20
    for start, batch, cursor in sent:
        assert commit_batch(worker.db, _names(worker), start, batch.last_position, batch.last_time,
                            lambda cur, c=cursor: replay(cur, c.writes))
    assert dump(worker.db, worker.views) == expected


def test_the_writer_process_commits_what_the_worker_projects(
    history: Worker, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = history
    expected = _plain_catch_up(worker)
    monkeypatch.setattr(pipeline, "FORGET_EVERY", 3)  # also forgetting, after waiting, several times over
    reset(worker, _names(worker))
    with _started_writer(worker) as writer:
        committed = writer.run(worker, worker.views, 0, None)
    assert committed == worker.log_end()
    assert set(worker.positions().values()) == {worker.log_end()}
    assert dump(worker.db, worker.views) == expected


def test_catch_up_far_behind_uses_the_writer_and_ends_with_the_plain_tables(
    history: Worker, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = history
    expected = _plain_tables_then_reset(worker)
    piped: list[int] = []
    run, ready = Pipeline.run, Pipeline.ready

    def counted_run(self: Pipeline, *args: Any, **kwargs: Any) -> int:
        piped.append(run(self, *args, **kwargs))
        return piped[-1]

    monkeypatch.setattr(Pipeline, "ready", lambda self: ready(self, wait_seconds=30))  # no batch before it starts
    monkeypatch.setattr(Pipeline, "run", counted_run)
    assert worker.catch_up() == worker.log_end()
    assert piped and piped[0] == worker.log_end()
    assert dump(worker.db, worker.views) == expected


def test_catch_up_projects_with_fewer_collections_and_restores_them(
    history: Worker, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker = history
    reset(worker, _names(worker))
    view = worker.views[0]
    apply_batch, thresholds = view.apply_batch, []

    def recorded(cur: Any, items: Any) -> None:
        thresholds.append(gc.get_threshold()[0])
        apply_batch(cur, items)

    monkeypatch.setattr(view, "apply_batch", recorded)
    before = gc.get_threshold()
    assert worker.catch_up() == worker.log_end()
    assert thresholds and set(thresholds) == {max(YOUNG_THRESHOLD, before[0])}
    assert gc.get_threshold() == before


def test_a_batch_whose_views_another_worker_moved_is_not_applied(history: Worker, backend: str) -> None:
    """The pipeline believes the views stand at 0, but another worker has applied batches meanwhile."""
    worker = history
    expected = _plain_tables_then_reset(worker)
    assert worker.run_once() and worker.run_once()  # the other worker's two batches
    with _started_writer(worker) as writer:
        # Its first two batches are refused; the third starts where the other worker stopped, from the
        # same rows (a projection of the same events), so it may commit.
        assert writer.run(worker, worker.views, 0, None) <= worker.log_end() - 2 * BATCH
    worker.catch_up()
    assert dump(worker.db, worker.views) == expected


def test_a_batch_the_writer_cannot_commit_is_rolled_back_whole_and_reported(
    history: Worker, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    worker = history
    expected = _plain_tables_then_reset(worker)
    first = read_batch(worker.application, 0, None, worker.batch_size, None)
    assert first is not None
    with worker.db.transaction(write=True) as cur:  # a stray audit row where the first batch will write
        cur.execute(
            "INSERT INTO rm_audit (position, recorded_at, aggregate_type, aggregate_id, version, event_type, summary)"
            " VALUES (?, 'x', 'x', 'x', 1, 'x', 'x')", (first.last_position,),
        )
    before = dump(worker.db, worker.views)
    with _started_writer(worker) as writer, caplog.at_level(logging.ERROR, logger="projections.pipeline"):
        assert writer.run(worker, worker.views, 0, None) == 0
    assert "failed in the writer and was rolled back" in caplog.text
    assert dump(worker.db, worker.views) == before  # the whole batch rolled back, positions included
    with worker.db.transaction(write=True) as cur:
        cur.execute("DELETE FROM rm_audit WHERE aggregate_id = 'x'")
    worker.catch_up()
    assert dump(worker.db, worker.views) == expected


def test_a_worker_whose_writer_process_dies_goes_on_alone(
    history: Worker, backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    worker = history
    expected = _plain_tables_then_reset(worker)
    with _started_writer(worker) as writer:
        writer._process.kill()
        writer._process.wait()
        with caplog.at_level(logging.ERROR, logger="projections.pipeline"):
            assert writer.run(worker, worker.views, 0, None) == 0
    assert "writer process stopped" in caplog.text
    worker.catch_up()
    assert dump(worker.db, worker.views) == expected


def test_a_worker_whose_writer_cannot_start_catches_up_alone(
    history: Worker, backend: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    worker = history
    expected = _plain_tables_then_reset(worker)
    monkeypatch.setattr(pipeline, "WRITER_COMMAND", ["false"])  # exits at once: the socket closes unanswered
    writer = Pipeline(worker.db)
    try:
        with caplog.at_level(logging.ERROR, logger="projections.pipeline"):
            assert not writer.ready(wait_seconds=30)
        assert "could not start" in caplog.text
        assert not writer.ready(wait_seconds=0.1)  # for good: no second attempt to read from it
    finally:
        writer.close()
    assert worker.catch_up() == worker.log_end()  # its own writer fails the same way
    assert dump(worker.db, worker.views) == expected


def test_views_may_not_write_around_the_writer() -> None:
    cursor = DeferredWrites(reads=None)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        cursor.execute("UPDATE rm_status SET visits = 0")
    with pytest.raises(RuntimeError):
        cursor.executemany("INSERT INTO rm_audit VALUES (?)", [(1,)])
    cursor.append_many("rm_audit", ("position",), [(1,)])
    assert cursor.writes == [("append_many", ("rm_audit", ("position",), [(1,)]))]
    with pytest.raises(ValueError, match="not a recorded write"):
        replay(None, [("execute", ("DROP TABLE rm_audit",))])  # type: ignore[arg-type]
