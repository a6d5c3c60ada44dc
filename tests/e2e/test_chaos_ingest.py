"""Crash test: concurrent ingest through real gunicorn while its workers and then the whole server are SIGKILLed.

Clients behave like the phone app's outbox: every request that was not acknowledged is sent again with the
same id and body until it is. Afterwards the log must hold every submission exactly once, and the position
each 2xx answered must be the one its event really has. A 500 is never acceptable; 503 and dropped
connections are, because the client retries them.
"""

from __future__ import annotations

import http.client
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings
from server.demo import ensure_demo_accounts, import_committees
from server.services import build_application
from tests.conftest import invoke_cli
from tests.e2e.processes import call, free_port, start, wait_until_healthy
from tests.factories import complaint_body, correction_body, visit_body

pytestmark = pytest.mark.e2e

GUNICORN = ["-m", "gunicorn", "-c", "python:server.gunicorn_conf", "server.app:create_app()"]
CLIENTS = 8
PER_CLIENT = 60  # 480 submissions in all
WORKER_KILLS = 6
DEADLINE_SECONDS = 75
MAX_ATTEMPTS = 400
CREATION_TOPICS = ("MonitoringVisit.Recorded", "Complaint.Filed", "RegistrationCorrection.Requested")
ACCOUNTS = (("pps_semabung", "demo-pps-2024", "19.71.01.1004"), ("pps_bacang", "demo-pps-2024", "19.71.01.1006"))


def children(pid: int) -> list[int]:
    """Direct children of a process, from /proc (psutil is not a dependency)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # the task ended while we looked
    return found


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (a zombie holds no sockets or locks)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


class Server:
    """One gunicorn master on a fixed port that can be killed and started again."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "PANTAU_BIND": f"127.0.0.1:{self.port}", "PANTAU_WEB_WORKERS": "3"}
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        self.starts += 1
        log_path = self.tmp_path / f"gunicorn-{self.starts}.log"
        self.logs.append(log_path)
        self.process = start([sys.executable, *GUNICORN], self.env, log_path)
        wait_until_healthy(self.base_url, self.process, log_path)

    def kill_a_worker(self, rng: random.Random) -> int | None:
        """SIGKILL one web worker; the master forks a replacement."""
        assert self.process is not None
        workers = sorted(children(self.process.pid))
        if not workers:
            return None
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        return victim

    def crash_and_restart(self) -> None:
        """SIGKILL master and workers at once (a power cut), then start again on the same port."""
        assert self.process is not None
        workers = children(self.process.pid)
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.02)  # polling for the kernel to finish the orphans, which still hold the port
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)

    def log_text(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in self.logs)


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    lock: threading.Condition = field(default_factory=threading.Condition)
    acknowledged: dict[str, int] = field(default_factory=dict)  # submission id -> answered position
    statuses: Counter[Any] = field(default_factory=Counter)
    unexpected: list[tuple[str, int, Any]] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)
    replays: int = 0  # acknowledgements of a retry whose first attempt had been written but not answered

    def wait_for(self, count: int, timeout: float) -> None:
        with self.lock:
            self.lock.wait_for(lambda: len(self.acknowledged) >= count, timeout=timeout)


def submissions(rng: random.Random, committee: str) -> list[tuple[str, dict[str, Any]]]:
    """One client's pre-generated outbox: a mix of the three kinds, ids from the seeded generator."""
    makers = (
        ("/api/v1/visits", visit_body),
        ("/api/v1/complaints", complaint_body),
        ("/api/v1/corrections", correction_body),
    )
    outbox = []
    for index in range(PER_CLIENT):
        path, make = makers[index % 3]
        outbox.append((path, make(committee, id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))))
    return outbox


def send_outbox(
    base_url: str,
    token: str,
    outbox: list[tuple[str, dict[str, Any]]],
    tally: Tally,
    deadline: float,
    rng: random.Random,
) -> None:
    """Send each submission until it is acknowledged, retrying with the same id and body."""
    for path, body in outbox:
        for attempt in range(MAX_ATTEMPTS):
            try:
                status, headers, answer = call(base_url, "POST", path, body, token)
            except (OSError, http.client.HTTPException) as error:
                # Refused, reset, or closed mid-answer: not acknowledged, so sent again.
                status, headers, answer = None, {}, type(error).__name__
            with tally.lock:
                tally.statuses[status] += 1
                if status is not None and 200 <= status < 300:
                    tally.acknowledged[body["id"]] = answer["position"]
                    tally.replays += headers.get("Idempotent-Replayed") == "true" and attempt > 0
                    tally.lock.notify_all()
                elif status is not None and status != 503:
                    tally.unexpected.append((body["id"], status, answer))
                elif status == 503 and "Retry-After" not in headers:
                    tally.unexpected.append((body["id"], status, "503 without Retry-After"))
            if status is not None and status != 503:
                break
            if time.monotonic() > deadline:
                tally.gave_up.append(body["id"])
                break
            time.sleep(min(0.5, 0.02 * 2 ** min(attempt, 5)) * rng.random())  # jittered back-off, as the app does
        else:
            tally.gave_up.append(body["id"])


def creation_events(settings: Settings) -> tuple[Counter[str], dict[str, int]]:
    """How many creation events each submission id has in the log, and the position of each."""
    application = build_application(settings)
    try:
        notifications = application.recorder.select_notifications(start=1, limit=1_000_000)
    finally:
        application.close()
    counts: Counter[str] = Counter()
    positions: dict[str, int] = {}
    for notification in notifications:
        if notification.topic.endswith(CREATION_TOPICS):
            key = str(notification.originator_id)
            counts[key] += 1
            positions[key] = notification.id
    return counts, positions


def run_chaos(tmp_path: Path, database_url: str | None, seed: int) -> None:
    settings = Settings(instance_path=tmp_path / "instance", database_url=database_url)
    # Reference data and accounts first, through the application service, before any server runs.
    seeding = build_application(settings)
    import_committees(seeding)
    ensure_demo_accounts(seeding)
    seeding.close()

    rng = random.Random(seed)
    env = {
        "PANTAU_INSTANCE_PATH": str(settings.instance_path),
        "DATABASE_URL": database_url or "",
        "PANTAU_PASSWORD_COST": "10",
    }
    server = Server(tmp_path, env)
    server.start()
    tally = Tally()
    try:
        tokens = {}
        for username, password, _ in ACCOUNTS:
            status, _, answer = call(
                server.base_url, "POST", "/api/v1/auth/token", {"username": username, "password": password}
            )
            assert status == 201, answer
            tokens[username] = answer["token"]
        outboxes = []
        for index in range(CLIENTS):
            username, _, committee = ACCOUNTS[index % len(ACCOUNTS)]
            outboxes.append((tokens[username], submissions(rng, committee), random.Random(rng.random())))
        everything = {body["id"] for _, outbox, _ in outboxes for _, body in outbox}
        assert len(everything) == CLIENTS * PER_CLIENT

        deadline = time.monotonic() + DEADLINE_SECONDS
        threads = [
            threading.Thread(target=send_outbox, args=(server.base_url, token, outbox, tally, deadline, client_rng))
            for token, outbox, client_rng in outboxes
        ]
        for thread in threads:
            thread.start()
        # Chaos, at seeded points of progress: several worker kills, and one power cut in the middle.
        total = len(everything)
        kill_points = sorted(rng.sample(range(total // 10, total * 9 // 10), WORKER_KILLS))
        crash_point = rng.randrange(total * 2 // 5, total * 3 // 5)
        killed = []
        for point in sorted([*kill_points, crash_point]):
            tally.wait_for(point, timeout=max(0.0, deadline - time.monotonic()))
            if point == crash_point:
                server.crash_and_restart()
            else:
                killed.append(server.kill_a_worker(rng))
        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic() + 15))
        assert not any(thread.is_alive() for thread in threads), "clients did not finish in time"
    finally:
        server.stop()

    log_text = server.log_text()
    assert all(killed), "a worker kill found no worker to kill"
    assert server.starts == 2
    # No 500, no other failure: only acknowledgements, 503s with Retry-After, and dropped connections.
    assert 500 not in tally.statuses, (tally.statuses, log_text[-4000:])
    assert not tally.unexpected, tally.unexpected[:5]
    assert not tally.gave_up, f"{len(tally.gave_up)} never acknowledged; statuses {tally.statuses}"
    assert "unexpected error" not in log_text, log_text[-4000:]
    # Every submission was acknowledged, and each is in the log exactly once, at the position it was told.
    assert set(tally.acknowledged) == everything
    counts, positions = creation_events(settings)
    assert {key for key, count in counts.items() if count > 1} == set()
    assert set(counts) == everything
    wrong = {key: (told, positions[key]) for key, told in tally.acknowledged.items() if positions[key] != told}
    assert wrong == {}
    # The evidence ledger takes the log as it is after the crashes, and verifies against it.
    for command in (["ledger", "checkpoint"], ["ledger", "verify"]):
        result = invoke_cli(settings, *command)
        assert result.exit_code == 0, result.output
    # The chaos was real: some requests were cut off and retried.
    assert tally.statuses[None] + tally.statuses[503] > 0, (tally.statuses, tally.replays)


def test_sigkilled_workers_and_server_lose_and_duplicate_nothing_on_sqlite(tmp_path: Path) -> None:
    run_chaos(tmp_path, None, seed=20241127)


@pytest.mark.postgres
def test_sigkilled_workers_and_server_lose_and_duplicate_nothing_on_postgres(
    tmp_path: Path, postgres_database: str
) -> None:
    run_chaos(tmp_path, postgres_database, seed=20241128)
