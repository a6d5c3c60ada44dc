"""Projection throughput beside the bare read rate (a benchmark, not a test).

    .venv/bin/python -m tests.bench.bench_projections [--events 5000] [--database-url postgresql://...]

Writes a log through the application service, then times (1) select_notifications + decode of the
whole log, (2) a full rebuild of every read model (`pantau projections rebuild`: drop, replay, then
build the secondary indexes) and (3) a worker catching up from zero with every index in place (what
the live worker does when far behind), and prints each ratio. The goal is at least a third of the bare rate.

The two are measured in turns, `--repeat` times (default 3), and the best of each is compared: on a
shared, noisy machine the fastest run is the one least disturbed by other processes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


def bare_rate(settings: Settings, batch: int) -> float:
    app = build_application(settings)
    try:
        start, count, began = 0, 0, time.perf_counter()
        while True:
            notifications = app.recorder.select_notifications(start=start, limit=batch, inclusive_of_start=False)
            if not notifications:
                break
            for notification in notifications:
                app.mapper.to_domain_event(notification)
            count += len(notifications)
            start = notifications[-1].id
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
    bare, rebuilt, caught_up = max(bare_runs), max(rebuild_runs), max(catch_up_runs)
    backend = "postgresql" if settings.uses_postgres else "sqlite"
    print(f"backend {backend}, {total} events, batch {settings.projection_batch_size}, best of {len(bare_runs)}")
    print(f"bare select_notifications + decode: {bare:10.0f} events/s  (runs: {_rates(bare_runs)})")
    print(f"rebuild (all read models):          {rebuilt:10.0f} events/s  (runs: {_rates(rebuild_runs)})")
    print(f"catch-up, indexes kept (all views): {caught_up:10.0f} events/s  (runs: {_rates(catch_up_runs)})")
    print(f"ratio rebuild/bare:                 {rebuilt / bare:10.2f}  (goal >= 0.33)")
    print(f"ratio catch-up/bare:                {caught_up / bare:10.2f}  (goal >= 0.33)")


def _rates(runs: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in runs)


if __name__ == "__main__":
    main()
