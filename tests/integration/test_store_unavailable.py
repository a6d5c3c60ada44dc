"""An unreachable or busy event store answers 503 with Retry-After, never 500, and never writes half a thing.

PostgreSQL connection loss is simulated by terminating the test database's backends (restarting the
shared server would hit every other test on the machine). SQLite busy is a second connection holding
the write lock longer than SQLITE_LOCK_TIMEOUT.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from server.config import Settings
from tests.conftest import OTHER_PPS, PPS
from tests.factories import complaint_body, correction_body, visit_body

CLIENTS = 4
PER_CLIENT = 30
TERMINATIONS = 5


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """PostgreSQL where the test asks for a database; else SQLite with a one-second lock timeout."""
    if "postgres_database" in request.fixturenames:
        return Settings(instance_path=tmp_path / "instance", database_url=request.getfixturevalue("postgres_database"))
    return Settings(instance_path=tmp_path / "instance", extra_env={"SQLITE_LOCK_TIMEOUT": "1"})


def creation_counts(application: Any) -> Counter[str]:
    """Creation events per record id, straight from the log."""
    counts: Counter[str] = Counter()
    for notification in application.recorder.select_notifications(start=1, limit=1_000_000):
        if notification.topic.endswith(("Recorded", "Filed", "Requested")):
            counts[str(notification.originator_id)] += 1
    return counts


def terminate_backends(server_url: str, database: str) -> int:
    """Cut every connection the application holds to its database, as a failover or restart would."""
    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        ).fetchall()
    return len(rows)


@pytest.mark.postgres
def test_lost_postgres_connections_give_503_or_success_and_every_retried_submission_lands_once(
    app: Any, headers: dict[str, dict[str, str]], postgres_database: str, seeded: Any
) -> None:
    server_url, _, database = postgres_database.rpartition("/")
    server_url += "/postgres"
    rng = random.Random(7)
    makers = (
        ("/api/v1/visits", visit_body),
        ("/api/v1/complaints", complaint_body),
        ("/api/v1/corrections", correction_body),
    )
    outboxes = [
        [
            (
                makers[i % 3][0],
                makers[i % 3][1](
                    PPS if c % 2 == 0 else OTHER_PPS, id=str(uuid.UUID(int=rng.getrandbits(128), version=4))
                ),
            )
            for i in range(PER_CLIENT)
        ]
        for c in range(CLIENTS)
    ]
    statuses: Counter[int] = Counter()
    bad: list[tuple[int, Any]] = []
    done = Counter[str]()
    latencies: list[float] = []
    progress = threading.Condition()

    def send(outbox: list[tuple[str, dict[str, Any]]], auth: dict[str, str]) -> None:
        client = app.test_client()
        for path, body in outbox:
            for attempt in range(50):
                t0 = time.monotonic()
                response = client.post(path, json=body, headers=auth)
                latencies.append(time.monotonic() - t0)
                with progress:
                    statuses[response.status_code] += 1
                    if response.status_code == 503 and "Retry-After" not in response.headers:
                        bad.append((503, "no Retry-After"))
                    elif response.status_code not in (201, 503):
                        bad.append((response.status_code, response.get_json()))
                    if response.status_code == 201:
                        done["acked"] += 1
                        progress.notify_all()
                if response.status_code != 503:
                    break
                time.sleep(0.01 * 2 ** min(attempt, 4))  # back-off before the retry, as the phone app does

    auths = [headers["pps_officer"], headers["other_pps_officer"]]
    threads = [threading.Thread(target=send, args=(outbox, auths[c % 2])) for c, outbox in enumerate(outboxes)]
    for thread in threads:
        thread.start()
    terminated = 0
    total = CLIENTS * PER_CLIENT
    for point in sorted(rng.sample(range(5, total - 5), TERMINATIONS)):
        # Cut the connections at seeded points of progress, while requests are in flight.
        with progress:
            progress.wait_for(lambda point=point: done["acked"] >= point, timeout=30)
        terminated += terminate_backends(server_url, database)
    for thread in threads:
        thread.join(timeout=60)

    assert terminated > 0
    assert bad == [], bad[:5]
    assert 500 not in statuses
    assert done["acked"] == total, statuses
    # A pool of dead connections is replaced within seconds: with pre-ping, psycopg_pool's back-off between
    # failed checks made requests wait 15-30 s, past gunicorn's worker timeout.
    assert max(latencies) < 8, sorted(latencies)[-5:]
    counts = creation_counts(seeded)
    expected = {body["id"] for outbox in outboxes for _, body in outbox}
    assert {key for key in expected if counts[key] != 1} == set()


def test_a_locked_sqlite_store_answers_503_with_retry_after_and_writes_nothing(
    client: Any, headers: dict[str, dict[str, str]], settings: Settings, seeded: Any
) -> None:
    body = visit_body(PPS)
    before = seeded.recorder.max_notification_id()
    # Another process holds the write lock longer than the store's lock timeout.
    blocker = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post("/api/v1/visits", json=body, headers=headers["pps_officer"])
        assert response.status_code == 503, response.json
        assert response.headers["Retry-After"].isdigit()
        assert response.mimetype == "application/problem+json"
        assert response.json["status"] == 503
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # Nothing was written while the lock was held...
    assert seeded.recorder.max_notification_id() == before
    # ...and the same submission, retried after the lock is gone, is recorded once.
    retried = client.post("/api/v1/visits", json=body, headers=headers["pps_officer"])
    assert retried.status_code == 201, retried.json
    assert "Idempotent-Replayed" not in retried.headers
    assert seeded.recorder.max_notification_id() == before + 1
    assert creation_counts(seeded)[body["id"]] == 1
