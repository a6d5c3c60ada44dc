"""Projection throughput beside the bare read rate (a benchmark, not a test).

    .venv/bin/python -m tests.bench.bench_projections [--events 5000] [--database-url postgresql://...]

Writes a log through the application service, then times (1) select_notifications + decode of the
whole log, (2) a full rebuild of every read model (`pantau projections rebuild`: drop, replay, then
build the secondary indexes) and (3) a worker catching up from zero with every index in place (what
the live worker does when far behind), and prints each ratio. The goal is at least a third of the bare rate.

The two are measured in turns, `--repeat` times (default 3). Two ratios are printed: best against
best (on a shared machine the fastest run is the one least disturbed), and the median of each round's
own ratio (the bare run and the rebuild right after it share that round's conditions; on these VMs
the bare rate alone swings by half between runs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

os.environ.setdefault("PANTAU_PASSWORD_COST", "10")

from projections.rebuild import rebuild, reset
from server.config import Settings
from server.demo import import_committees
from server.domain.base import Context
from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist
from server.domain.roles import Actor
from server.services import build_application
from server.worker_process import build_worker

ADMIN = Actor("a1", "kpu_satu", "kpu_admin", None)
PPS = ("19.71.01.1004", "19.71.01.1006", "19.71.07.1001", "19.71.02.1001")


def write_log(settings: Settings, events: int) -> int:
    app = build_application(settings)
    ctx = Context(ADMIN.username, ADMIN.role)
    keys = checklist(CURRENT_CHECKLIST_VERSION).keys()
    try:
        import_committees(app)
        n = 0
        while (app.recorder.max_notification_id() or 0) < events:
            pps = PPS[n % len(PPS)]
            app.record_visit(ADMIN, {"id": str(uuid4()), "committee": pps, "checklist_version": 1,
                                     "checklist": {k: (n + i) % 2 == 0 for i, k in enumerate(keys)}}, ctx)
            complaint = app.file_complaint(ADMIN, {"id": str(uuid4()), "committee": pps, "category": "logistics",
                                                   "description": "kotak suara kurang"}, ctx)
            app.act(ADMIN, "complaint", UUID(complaint.record["id"]), "acknowledge", 1, {"note": ""}, ctx)
            app.request_correction(ADMIN, {"id": str(uuid4()), "committee": pps, "kind": "mark_tms",
                                           "nik": f"1971014403{n:06d}", "full_name": "Warga",
                                           "tms_reason": "deceased"}, ctx)
            n += 1
        return app.recorder.max_notification_id()
    finally:
        app.close()


def decode_log(application: Any, batch: int) -> int:
    """The baseline: select_notifications + decode of the whole log, nothing else; the events decoded."""
    start, count = 0, 0
    while True:
        notifications = application.recorder.select_notifications(start=start, limit=batch, inclusive_of_start=False)
        if not notifications:
            return count
        for notification in notifications:
            application.mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id


def bare_rate(settings: Settings, batch: int) -> float:
    app = build_application(settings)
    try:
        began = time.perf_counter()
        count = decode_log(app, batch)
        return count / (time.perf_counter() - began)
    finally:
        app.close()


def rebuild_rate(settings: Settings) -> float:
    """A full rebuild, index building included."""
    worker = build_worker(settings)
    try:
        began = time.perf_counter()
        applied = rebuild(worker, [view.name for view in worker.views])
        return applied / (time.perf_counter() - began)
    finally:
        worker.application.close()
        worker.db.close()


def catch_up_rate(settings: Settings) -> float:
    """The live worker's pace from zero, every index kept up to date row by row."""
    worker = build_worker(settings)
    try:
        reset(worker, [view.name for view in worker.views])  # empty tables, not timed
        began = time.perf_counter()
        applied = worker.catch_up()
        return applied / (time.perf_counter() - began)
    finally:
        worker.application.close()
        worker.db.close()


def sqlite_write_floor(settings: Settings) -> tuple[int, float]:
    """(rows, seconds): inserting the rows a rebuild leaves, and nothing else, into empty copies of the
    read-model tables (same keys, same indexes kept during a replay), 500 rows per transaction as the
    worker commits. A lower bound for any projection into these tables on this SQLite: no decoding, no
    Python per event, no row read or updated twice."""
    import sqlite3

    source = sqlite3.connect(settings.readmodel_sqlite_path)
    floor_path = settings.instance_path / "floor.sqlite3"
    floor = sqlite3.connect(floor_path, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=10000"):
            floor.execute(f"PRAGMA {pragma}")  # as projections.db sets them
        worker = build_worker(settings)
        worker.application.close()
        worker.db.close()
        deferred = {index.split(" ON ")[0] for view in worker.views for index in view.indexes}
        tables = [name for view in worker.views for name in view.tables]
        schema = source.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        for kind, name, sql in schema:
            kept_index = kind == "index" and name.startswith("rm_") and name not in deferred
            if kept_index or (kind == "table" and name in tables):
                floor.execute(sql)
        rows_written, began = 0, time.perf_counter()
        for table in tables:
            rows = source.execute(f"SELECT * FROM {table}").fetchall()
            if not rows:
                continue
            insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})"
            for start in range(0, len(rows), 500):
                floor.execute("BEGIN IMMEDIATE")
                floor.executemany(insert, rows[start : start + 500])
                floor.execute("COMMIT")
            rows_written += len(rows)
        return rows_written, time.perf_counter() - began
    finally:
        source.close()
        floor.close()


@contextmanager
def throwaway_database(server_url: str | None) -> Iterator[str | None]:
    """A fresh PostgreSQL database on the given server (dropped afterwards), or None for SQLite."""
    if server_url is None:
        yield None
        return
    import psycopg

    name = f"pantau_bench_{uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a throwaway database is made)")
    parser.add_argument("--repeat", type=int, default=3, help="measure both this many times, in turns; keep the best")
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="pantau-bench-"))
    bare_runs: list[float] = []
    rebuild_runs: list[float] = []
    catch_up_runs: list[float] = []
    with throwaway_database(args.database_url) as url:
        settings = Settings(instance_path=instance, database_url=url)
        total = write_log(settings, args.events)
        for _ in range(max(1, args.repeat)):
            bare_runs.append(bare_rate(settings, settings.projection_batch_size))
            rebuild_runs.append(rebuild_rate(settings))
            catch_up_runs.append(catch_up_rate(settings))
        floor = None if url else sqlite_write_floor(settings)
    bare, rebuilt, caught_up = max(bare_runs), max(rebuild_runs), max(catch_up_runs)
    backend = "postgresql" if settings.uses_postgres else "sqlite"
    print(f"backend {backend}, {total} events, batch {settings.projection_batch_size}, best of {len(bare_runs)}")
    print(f"bare select_notifications + decode: {bare:10.0f} events/s  (runs: {_rates(bare_runs)})")
    print(f"rebuild (all read models):          {rebuilt:10.0f} events/s  (runs: {_rates(rebuild_runs)})")
    print(f"catch-up, indexes kept (all views): {caught_up:10.0f} events/s  (runs: {_rates(catch_up_runs)})")
    print(f"ratio rebuild/bare:                 {rebuilt / bare:10.2f}  (goal >= 0.33; "
          f"median of rounds {_median_ratio(rebuild_runs, bare_runs):.2f})")
    print(f"ratio catch-up/bare:                {caught_up / bare:10.2f}  (goal >= 0.33; "
          f"median of rounds {_median_ratio(catch_up_runs, bare_runs):.2f})")
    if floor is not None:
        rows, seconds = floor
        print(f"SQLite write floor: {seconds / total * 1e6:.1f} us/event only to insert the {rows} final rows "
              f"(rebuild: {1e6 / rebuilt:.1f} us/event in all; the goal allows {3e6 / bare:.1f} us/event in all)")


def _median_ratio(ours: list[float], bare: list[float]) -> float:
    return statistics.median(o / b for o, b in zip(ours, bare, strict=True))


def _rates(runs: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in runs)


if __name__ == "__main__":
    main()
