"""Rebuilding read models from zero gives exactly what the worker built incrementally."""

from __future__ import annotations

import threading
from typing import Any

from projections.dump import dump
from projections.rebuild import rebuild, reset
from projections.worker import Worker
from server.cli import cli
from tests.conftest import OTHER_PPS, PPS
from tests.factories import complaint_body, correction_body, visit_body


def write_history(client: Any, headers: dict[str, dict[str, str]], worker: Worker) -> None:
    """Visits, complaints through their lifecycle and corrections, with the worker catching up in between."""

    def post(path: str, body: dict[str, Any], role: str) -> dict[str, Any]:
        response = client.post(path, json=body, headers=headers[role])
        assert response.status_code in (200, 201), response.json
        return response.json["record"]

    for round_ in range(3):
        visit = post("/api/v1/visits", visit_body(PPS), "pps_officer")
        all_yes = dict.fromkeys(visit["checklist"], True)
        amend = {"expected_version": 1, "reason": "salah isi", "checklist": all_yes}
        post(f"/api/v1/visits/{visit['id']}/amend", amend, "pps_officer")
        complaint = post("/api/v1/complaints", complaint_body(OTHER_PPS), "ppk_officer")
        steps = [("acknowledge", {}), ("investigate", {}), ("resolve", {"reason": "selesai"})]
        for version, (step, body) in enumerate(steps, start=1):
            post(f"/api/v1/complaints/{complaint['id']}/{step}", {"expected_version": version, **body}, "kpu_admin")
        correction = post("/api/v1/corrections", correction_body(PPS), "pps_officer")
        post(f"/api/v1/corrections/{correction['id']}/verify", {"expected_version": 1}, "pps_officer")
        if round_ % 2 == 0:
            worker.run_once()  # part of the history applied in small steps, part in one go
    worker.catch_up()


def test_rebuilding_every_view_gives_the_same_tables_as_incremental_updates(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str
) -> None:
    worker.batch_size = 7
    write_history(client, headers, worker)
    incremental = dump(worker.db, worker.views)
    assert incremental["rm_complaints"] and incremental["rm_corrections"] and incremental["rm_audit"]
    rebuild(worker, [view.name for view in worker.views])
    assert dump(worker.db, worker.views) == incremental
    assert set(worker.positions().values()) == {worker.log_end()}


def test_rebuilding_one_view_catches_it_up_alone_and_it_rejoins_the_others(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str
) -> None:
    write_history(client, headers, worker)
    before = dump(worker.db, worker.views)
    worker.batch_size = 10
    applied = rebuild(worker, ["status"])
    assert applied == worker.log_end()
    assert dump(worker.db, worker.views) == before
    client.post("/api/v1/visits", json=visit_body(PPS), headers=headers["pps_officer"])
    assert worker.run_once() == 1  # one group again: the new event is read once for every view


def test_rebuilding_the_status_view_drops_the_tables_earlier_versions_kept(worker: Worker, backend: str) -> None:
    from projections.views.status import RETIRED

    with worker.db.transaction(write=True) as cur:
        for table in RETIRED:  # as an older Pantau left them
            cur.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, committee TEXT NOT NULL)")
    rebuild(worker, ["status"])
    with worker.db.transaction() as cur:
        for table in RETIRED:
            assert not _table_exists(cur, table, worker.db.is_postgres)


def _table_exists(cur: Any, table: str, postgres: bool) -> bool:
    if postgres:
        cur.execute("SELECT to_regclass(?) IS NOT NULL", (table,))
    else:
        cur.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
    return bool(cur.fetchone()[0])


def test_rebuild_command_shows_progress_and_ends_at_the_log_end(
    runner: Any, worker: Worker, backend: str
) -> None:
    result = runner.invoke(cli, args=["projections", "rebuild", "audit"])
    assert result.exit_code == 0, result.output
    assert "Rebuilding audit" in result.output and f"'audit': {worker.log_end()}" in result.output
    assert runner.invoke(cli, args=["projections", "rebuild", "nothing"]).exit_code != 0


def test_a_rebuild_racing_a_running_worker_applies_each_event_once(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, settings: Any, backend: str
) -> None:
    from server.worker_process import build_worker

    write_history(client, headers, worker)
    before = dump(worker.db, worker.views)
    other = build_worker(settings)
    other.batch_size = worker.batch_size = 5
    try:
        reset(worker, ["audit", "status"])
        racer = threading.Thread(target=other.catch_up)
        racer.start()
        worker.catch_up()
        racer.join(timeout=60)
        assert not racer.is_alive()
    finally:
        other.application.close()
        other.db.close()
    assert dump(worker.db, worker.views) == before


def _index_names(worker: Worker) -> set[str]:
    with worker.db.transaction() as cur:
        if worker.db.is_postgres:
            cur.execute(r"SELECT indexname FROM pg_indexes WHERE tablename LIKE 'rm\_%%'")
        else:
            cur.execute(r"SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'rm\_%' ESCAPE '\'")
        return {row[0] for row in cur.fetchall()}


def test_a_rebuild_builds_the_secondary_indexes_after_the_replay_and_ends_with_all_of_them(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str, monkeypatch: Any
) -> None:
    write_history(client, headers, worker)
    complete = _index_names(worker)
    declared = {index.split(" ON ")[0] for view in worker.views for index in view.indexes}
    assert declared and declared <= complete
    seen_during_replay = _watch_indexes_during_replay(worker, monkeypatch)
    assert not worker.pipeline_worthwhile(behind=worker.log_end())
    rebuild(worker, [view.name for view in worker.views])
    assert seen_during_replay and not declared & seen_during_replay[0]  # the replay wrote no secondary index
    assert _index_names(worker) == complete


def test_a_pipelined_rebuild_keeps_the_indexes_up_to_date_as_it_writes(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str, monkeypatch: Any
) -> None:
    """Its writer process maintains them beside the worker's own work, so none is built afterwards."""
    write_history(client, headers, worker)
    complete = _index_names(worker)
    worker.batch_size = 3
    assert worker.pipeline_worthwhile(behind=worker.log_end())
    seen_during_replay = _watch_indexes_during_replay(worker, monkeypatch)
    before = dump(worker.db, worker.views)
    rebuild(worker, [view.name for view in worker.views])
    assert seen_during_replay == [complete]
    assert _index_names(worker) == complete
    assert dump(worker.db, worker.views) == before


def _watch_indexes_during_replay(worker: Worker, monkeypatch: Any) -> list[set[str]]:
    """The index names present when the rebuild's replay begins (one set per catch-up)."""
    seen: list[set[str]] = []
    catch_up = worker.catch_up

    def watched(progress: Any = None, **kwargs: Any) -> int:
        seen.append(_index_names(worker))
        return catch_up(progress, **kwargs)

    monkeypatch.setattr(worker, "catch_up", watched)
    return seen


def test_a_worker_whose_schema_creation_loses_a_race_tries_again(settings: Any, monkeypatch: Any) -> None:
    import psycopg

    from projections import tracking as tracking_module
    from projections import worker as worker_module
    from server.worker_process import build_worker

    attempts: list[int] = []
    ensure = tracking_module.ensure

    def deadlocked_once(cur: Any, views: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:  # PostgreSQL picked this process as a deadlock's victim
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        ensure(cur, views)

    monkeypatch.setattr(tracking_module, "ensure", deadlocked_once)
    monkeypatch.setattr(worker_module, "RETRY_FIRST_SECONDS", 0)
    built = build_worker(settings)
    try:
        assert len(attempts) == 2
        assert set(built.positions().values()) == {0}
    finally:
        built.application.close()
        built.db.close()
