"""SIGKILL the projection worker at random moments of a large replay: after a restart, its tables
equal a clean rebuild exactly. Waits are on conditions (the tracked position), never on the clock."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from projections.dump import dump
from projections.rebuild import rebuild
from server.config import Settings
from server.demo import import_committees
from server.domain.base import Context
from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist
from server.domain.roles import Actor
from server.services import build_application
from server.worker_process import build_worker

ROOT = Path(__file__).resolve().parents[2]
PPS = ("19.71.01.1004", "19.71.01.1006", "19.71.07.1001", "19.71.02.1001")
ADMIN = Actor("a1", "kpu_satu", "kpu_admin", None)
DECIDER = Actor("a2", "kpu_dua", "kpu_admin", None)
ROUNDS = 150  # about 1,100 events with the committees
KILLS = 3
DEADLINE_SECONDS = 120


def write_log(settings: Settings) -> int:
    """A few thousand events straight through the application service; the log's last position."""
    app = build_application(settings)
    try:
        import_committees(app)
        keys = checklist(CURRENT_CHECKLIST_VERSION).keys()
        ctx, other = Context(ADMIN.username, ADMIN.role), Context(DECIDER.username, DECIDER.role)
        for n in range(ROUNDS):
            pps = PPS[n % len(PPS)]
            answers = {key: (n + i) % 3 != 0 for i, key in enumerate(keys)}
            app.record_visit(ADMIN, {"id": str(uuid4()), "committee": pps, "checklist_version": 1,
                                     "checklist": answers}, ctx)
            complaint = app.file_complaint(ADMIN, {"id": str(uuid4()), "committee": pps,
                                                   "category": "neutrality", "description": f"keluhan {n}"}, ctx)
            cid = UUID(complaint.record["id"])
            app.act(ADMIN, "complaint", cid, "acknowledge", 1, {"note": ""}, ctx)
            app.act(ADMIN, "complaint", cid, "investigate", 2, {"note": ""}, ctx)
            if n % 2:
                app.act(ADMIN, "complaint", cid, "resolve", 3, {"reason": "selesai"}, ctx)
            correction = app.request_correction(ADMIN, {
                "id": str(uuid4()), "committee": pps, "kind": "mark_tms", "nik": f"19710144039{n:05d}",
                "full_name": "Warga", "tms_reason": "moved"}, ctx)
            rid = UUID(correction.record["id"])
            app.act(ADMIN, "correction", rid, "verify", 1, {"note": ""}, ctx)
            if n % 3:
                app.act(DECIDER, "correction", rid, "approve", 2, {"reason": "sah"}, other)
        return app.recorder.max_notification_id()
    finally:
        app.close()


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    """`pantau projections run` in a process of its own, small batches so kills land mid-replay."""
    env = dict(os.environ, PANTAU_INSTANCE_PATH=str(settings.instance_path), PANTAU_PROJECTION_BATCH_SIZE="25")
    env.pop("DATABASE_URL", None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    code = "from server.cli import main; main()"
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    with open(settings.instance_path / "worker.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", code, "projections", "run"], cwd=ROOT, env=env, stdout=log, stderr=log
        )


def wait_until_position(worker: Any, process: subprocess.Popen[bytes], target: int, log: Path) -> int:
    """Poll the slowest view's tracked position until it reaches `target` (bounded; fails if the worker dies)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        lowest = min(worker.positions().values())
        if lowest >= target:
            return lowest
        if process.poll() is not None:
            pytest.fail(f"worker exited ({process.returncode}): {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"worker stuck at {lowest}, waiting for {target}")
        time.sleep(0.002)  # a polling interval, not a synchronisation guess


@pytest.mark.slow
def test_a_worker_killed_at_random_moments_ends_with_the_tables_of_a_clean_rebuild(
    settings: Settings, backend: str
) -> None:
    end = write_log(settings)
    assert end > 1000
    observer = build_worker(settings)  # only reads positions and, at the end, rebuilds
    rng = random.Random(f"{backend}-{end}")
    log = settings.instance_path / "worker.log"
    try:
        reached = 0
        for _ in range(KILLS):
            if reached >= end - 1:
                break  # a fast worker got through the log before we could kill it again
            process = start_worker(settings)
            target = rng.randint(reached + 1, end - 1)
            reached = wait_until_position(observer, process, target, log)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        process = start_worker(settings)
        wait_until_position(observer, process, end, log)
        process.send_signal(signal.SIGTERM)
        # 0 after a clean stop; -SIGTERM if the signal came before the handler was installed.
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
        # Events the worker process recorded itself (alerts) just before stopping are applied here, from
        # the positions the crashed runs left; the rebuild below starts from zero.
        observer.catch_up()
        after_crashes = dump(observer.db, observer.views)
        rebuild(observer, [view.name for view in observer.views])
        assert dump(observer.db, observer.views) == after_crashes
        # The worker process may itself have recorded events meanwhile (committee alerts it noticed), and a
        # PostgreSQL sequence skips a number when a duplicate alert is refused: count the log, not its end.
        logged = observer.application.recorder.select_notifications(start=1, limit=10**6)
        assert len(after_crashes["rm_audit"]) == len(logged) >= end
    finally:
        observer.application.close()
        observer.db.close()
