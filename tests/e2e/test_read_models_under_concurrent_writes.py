"""Read models stay correct under concurrent writes from several gunicorn workers, on SQLite and PostgreSQL.

Real gunicorn (3 workers) takes submissions and lifecycle steps from many client threads at once while
the real projection worker process follows the log. Once the worker has reached the end of the log, the
status, complaint queue, correction register and audit trail answered over HTTP must equal what the
clients were told (every record once, at its final status; counts per committee and category), the audit
trail must hold every log position exactly once, and a clean rebuild must give the same tables.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from projections.dump import dump
from projections.rebuild import rebuild
from server.config import Settings
from server.demo import DEMO_ACCOUNTS, ensure_demo_accounts, import_committees
from server.domain.complaint import OPEN_STATUSES
from server.domain.correction import PENDING_STATUSES
from server.services import build_application
from server.worker_process import build_worker
from tests.e2e.processes import call, free_port, pantau_command, start, stop, wait_until_healthy
from tests.factories import complaint_body, correction_body, visit_body

pytestmark = pytest.mark.e2e

GUNICORN = ["-m", "gunicorn", "-c", "python:server.gunicorn_conf", "server.app:create_app()"]
PASSWORDS = {username: password for username, _, _, password in DEMO_ACCOUNTS}
OFFICERS = {"19.71.01.1004": "pps_semabung", "19.71.01.1006": "pps_bacang"}  # both under PPK 19.71.01
PPK = "19.71.01"
HANDLERS = ("ppk_bukitintan", "kpu_admin")  # may act on complaints and corrections of both PPS
CATEGORIES = ("neutrality", "logistics", "voter_registration", "technical")
CLIENTS = 8
ROUNDS = 8  # per client: a visit, a complaint and a correction, each taken some way through its lifecycle
DEADLINE_SECONDS = 50
# Lifecycle paths (step, body) and the status each ends in; versions follow from the number of steps.
COMPLAINT_PATHS: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (),
    (("acknowledge", {}),),
    (("acknowledge", {}), ("investigate", {"note": "cek lapangan"})),
    (("acknowledge", {}), ("investigate", {}), ("escalate", {"target": "bawaslu", "reason": "serius"})),
    (("acknowledge", {}), ("investigate", {}), ("resolve", {"reason": "selesai"})),
    (("dismiss", {"reason": "tidak terbukti"}),),
    (("dismiss", {"reason": "tidak terbukti"}), ("reopen", {"reason": "bukti baru"})),
)
CORRECTION_PATHS: tuple[tuple[tuple[str, dict[str, Any]], ...], ...] = (
    (),
    (("verify", {}),),
    (("verify", {}), ("approve", {"reason": "sah"})),
    (("verify", {}), ("reject", {"reason": "tidak sah"})),
)


@dataclass
class Told:
    """What the server answered the clients (2xx only), gathered from every client thread."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    records: dict[str, dict[str, dict[str, Any]]] = field(  # kind -> id -> the record as last answered
        default_factory=lambda: {"visits": {}, "complaints": {}, "corrections": {}}
    )
    positions: dict[int, str] = field(default_factory=dict)  # log position answered -> record id
    lost_races: int = 0

    def note(self, plural: str, answer: dict[str, Any]) -> dict[str, Any]:
        record = answer["record"]
        with self.lock:
            assert answer["position"] not in self.positions, f"position {answer['position']} answered twice"
            self.positions[answer["position"]] = record["id"]
            self.records[plural][record["id"]] = record
        return record


@dataclass
class Server:
    base_url: str
    worker: subprocess.Popen[bytes]
    logs: Path


def login(base_url: str, username: str) -> str:
    credentials = {"username": username, "password": PASSWORDS[username]}
    status, _, body = call(base_url, "POST", "/api/v1/auth/token", credentials)
    assert status == 201, body
    return body["token"]


def write(server: Server, plural: str, path: str, body: dict[str, Any], token: str, told: Told) -> dict[str, Any]:
    status, _, answer = call(server.base_url, "POST", path, body, token)
    assert status in (200, 201), (path, status, answer)
    return told.note(plural, answer)


def take_path(server: Server, plural: str, record: dict[str, Any], path: Any, tokens: dict[str, str],
              rng: random.Random, told: Told) -> None:
    """Lifecycle steps one after another, each against the version the previous step answered."""
    for step, params in path:
        body = {"expected_version": record["version"], **params}
        record = write(server, plural, f"/api/v1/{plural}/{record['id']}/{step}", body, tokens[rng.choice(HANDLERS)],
                       told)


def race_acknowledge(server: Server, record: dict[str, Any], tokens: dict[str, str], told: Told) -> dict[str, Any]:
    """Both handlers acknowledge the same complaint at the same version at once: exactly one may win."""
    barrier = threading.Barrier(len(HANDLERS))

    def attempt(username: str) -> tuple[int, Any]:
        barrier.wait(timeout=10)
        status, _, answer = call(server.base_url, "POST", f"/api/v1/complaints/{record['id']}/acknowledge",
                                 {"expected_version": record["version"]}, tokens[username])
        return status, answer

    with ThreadPoolExecutor(len(HANDLERS)) as pool:
        outcomes = list(pool.map(attempt, HANDLERS))
    winners = [answer for status, answer in outcomes if status in (200, 201)]
    assert len(winners) == 1 and [status for status, _ in outcomes].count(409) == 1, outcomes
    with told.lock:
        told.lost_races += 1
    return told.note("complaints", winners[0])


def client(server: Server, tokens: dict[str, str], seed: int, told: Told) -> None:
    """ROUNDS rounds of a visit, a complaint and a correction, each taken some way through its lifecycle."""
    rng = random.Random(seed)
    for _ in range(ROUNDS):
        committee = rng.choice(sorted(OFFICERS))
        officer = tokens[OFFICERS[committee]]
        write(server, "visits", "/api/v1/visits", visit_body(committee), officer, told)
        body = complaint_body(committee, category=rng.choice(CATEGORIES))
        complaint = write(server, "complaints", "/api/v1/complaints", body, officer, told)
        path = rng.choice(COMPLAINT_PATHS)
        if path and path[0][0] == "acknowledge" and rng.random() < 0.5:
            complaint, path = race_acknowledge(server, complaint, tokens, told), path[1:]
        take_path(server, "complaints", complaint, path, tokens, rng, told)
        correction = write(server, "corrections", "/api/v1/corrections", correction_body(committee), officer, told)
        take_path(server, "corrections", correction, rng.choice(CORRECTION_PATHS), tokens, rng, told)


def pages(base_url: str, path: str, token: str) -> list[dict[str, Any]]:
    """Every item of a keyset-paginated list endpoint."""
    items: list[dict[str, Any]] = []
    after: Any = None
    while True:
        query = f"{path}{'&' if '?' in path else '?'}limit=1000" + (f"&after={after}" if after is not None else "")
        status, _, body = call(base_url, "GET", query, token=token)
        assert status == 200, (query, status, body)
        items.extend(body["items"])
        after = body["next"]
        if after is None:
            return items


def wait_until(condition: Callable[[], bool], what: str, log: Path) -> None:
    """Poll a condition with a deadline; on timeout show the end of the process's log."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)  # a polling interval, not a synchronisation guess


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    """Seeded stores, gunicorn with 3 workers, and the projection worker process."""
    application = build_application(settings)
    try:
        import_committees(application)
        ensure_demo_accounts(application)
    finally:
        application.close()
    port = free_port()
    env = {
        "PANTAU_INSTANCE_PATH": str(settings.instance_path), "PANTAU_BIND": f"127.0.0.1:{port}",
        "PANTAU_WEB_WORKERS": "3", "PANTAU_PASSWORD_COST": "10",
    }
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    web = start([sys.executable, *GUNICORN], env, tmp_path / "gunicorn.log")
    worker = start(pantau_command("projections", "run"), env, tmp_path / "worker.log")
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", web, tmp_path / "gunicorn.log")
        yield Server(f"http://127.0.0.1:{port}", worker, tmp_path)
    finally:
        stop(worker)
        stop(web)


def log_positions(application: Any) -> list[int]:
    """Every notification id in the log, in order."""
    positions: list[int] = []
    while batch := application.recorder.select_notifications(
        start=positions[-1] if positions else 0, limit=1000, inclusive_of_start=False
    ):
        positions.extend(notification.id for notification in batch)
    return positions


def expected_statuses(told: Told) -> dict[str, dict[str, Any]]:
    """Per PPS: visits, open complaints per category and pending corrections, from the clients' answers."""
    result = {}
    for code in OFFICERS:
        complaints = [r for r in told.records["complaints"].values() if r["committee"] == code]
        corrections = [r for r in told.records["corrections"].values() if r["committee"] == code]
        open_by_category = Counter(r["category"] for r in complaints if r["status"] in OPEN_STATUSES)
        result[code] = {
            "visits": sum(1 for r in told.records["visits"].values() if r["committee"] == code),
            "open_complaints": dict(sorted(open_by_category.items())),
            "pending_corrections": sum(1 for r in corrections if r["status"] in PENDING_STATUSES),
        }
    return result


def test_lists_equal_what_concurrent_clients_were_told_and_a_clean_rebuild(
    settings: Settings, backend: str, server: Server
) -> None:
    tokens = {username: login(server.base_url, username) for username in (*OFFICERS.values(), *HANDLERS, "auditor")}
    told = Told()

    # Many clients at once; the kernel spreads their connections over the three gunicorn workers.
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client, server, tokens, seed, told) for seed in range(CLIENTS)]:
            future.result(timeout=DEADLINE_SECONDS)
    assert told.lost_races > 0  # the optimistic-concurrency refusal was exercised too

    observer = build_worker(settings)  # reads positions; at the end, rebuilds
    try:
        # The worker process reaches the end of the log as it stood when the clients were done.
        log_end = observer.log_end()
        assert log_end >= max(told.positions)
        wait_until(lambda: min(observer.positions().values()) >= log_end, f"projections at {log_end}",
                   server.logs / "worker.log")
        admin = tokens["kpu_admin"]

        # Complaint queue and correction register: every record exactly once, as the clients last saw it.
        for plural in ("complaints", "corrections"):
            listed = pages(server.base_url, f"/api/v1/{plural}?committee={PPK}", admin)
            assert len(listed) == len({item["id"] for item in listed}), f"a record listed twice in {plural}"
            assert {item["id"]: (item["committee"], item["status"], item["version"]) for item in listed} == {
                i: (r["committee"], r["status"], r["version"]) for i, r in told.records[plural].items()
            }
            if plural == "complaints":
                assert Counter(item["category"] for item in listed) == Counter(
                    r["category"] for r in told.records[plural].values()
                )

        # Committee status per PPS.
        statuses = pages(server.base_url, f"/api/v1/status?level=pps&committee={PPK}", admin)
        shown = {item["code"]: {key: item[key] for key in ("visits", "open_complaints", "pending_corrections")}
                 for item in statuses if item["code"] in OFFICERS}
        assert shown == expected_statuses(told)

        # Stop the worker; apply what it recorded itself just before (alerts), so the log is still.
        assert stop(server.worker) in (0, -15)
        observer.catch_up()

        # Audit trail: one row per event in the log, none missing or repeated, each on the record the client
        # was told. (PostgreSQL's positions have holes where a save lost a race and rolled back its id.)
        audit = pages(server.base_url, "/api/v1/audit", tokens["auditor"])
        assert [row["position"] for row in audit] == log_positions(observer.application)
        aggregate_at = {row["position"]: row["aggregate_id"] for row in audit}
        assert {position: aggregate_at[position] for position in told.positions} == told.positions

        # The tables built incrementally under concurrent writes equal a clean rebuild from the log.
        incremental = dump(observer.db, observer.views)
        rebuild(observer, [view.name for view in observer.views])
        assert dump(observer.db, observer.views) == incremental
    finally:
        observer.application.close()
        observer.db.close()
