"""Shared fixtures: a throwaway instance per test, on SQLite or on PostgreSQL.

PostgreSQL comes from PANTAU_TEST_DATABASE_URL (a server URL; each test gets its own database,
dropped afterwards). Unset outside CI: PostgreSQL tests skip with a reason. Under CI=true they fail.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Cheap password hashing for tests only (hashes record their own cost, so nothing else changes).
os.environ.setdefault("PANTAU_PASSWORD_COST", "10")

from server.account_listener import AccountListener
from server.app import create_app
from server.config import Settings
from server.demo import DEMO_ACCOUNTS, ensure_demo_accounts, import_committees
from server.worker_process import build_worker

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("PANTAU_TEST_DATABASE_URL", "")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

PPS = "19.71.01.1004"  # Semabung Lama, under PPK Bukit Intan
OTHER_PPS = "19.71.01.1006"  # Bacang, same PPK
FAR_PPS = "19.71.07.1001"  # Pasar Padi, PPK Girimaya
PPK = "19.71.01"
PASSWORDS = {username: password for username, _, _, password in DEMO_ACCOUNTS}
ROLE_USERS = {
    "pps_officer": "pps_semabung",
    "ppk_officer": "ppk_bukitintan",
    "kpu_admin": "kpu_admin",
    "auditor": "auditor",
    "legal": "legal",
}


def _admin_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def postgres_server_url() -> str:
    """The PostgreSQL server for tests, or skip (fail under CI) with the reason."""
    if not PG_URL:
        message = "PANTAU_TEST_DATABASE_URL is not set; PostgreSQL tests need a server"
        if IN_CI:
            pytest.fail(message + " (CI=true: refusing to skip)")
        pytest.skip(message)
    try:
        _admin_connect(PG_URL).close()
    except Exception as error:  # any connection failure is the same answer here
        message = f"PostgreSQL at PANTAU_TEST_DATABASE_URL is unreachable: {type(error).__name__}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return PG_URL


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    server = postgres_server_url()
    name = f"pantau_test_{uuid.uuid4().hex[:12]}"
    with _admin_connect(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = server.rpartition("/")
    yield f"{base}/{name}"
    with _admin_connect(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test once per backend."""
    return request.param


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for a throwaway instance; PostgreSQL when the test uses the `backend` fixture with it."""
    database_url = None
    if "backend" in request.fixturenames and request.getfixturevalue("backend") == "postgres":
        database_url = request.getfixturevalue("postgres_database")
    return Settings(instance_path=tmp_path / "instance", database_url=database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Any]:
    flask_app = create_app({"TESTING": True, "SETTINGS": settings})
    yield flask_app
    application = flask_app.extensions.get("pantau")
    if application is not None:
        application.close()
    readmodels = flask_app.extensions.get("pantau.readmodels")
    if readmodels is not None:
        readmodels.close()
    ledger = flask_app.extensions.get("pantau.ledger")
    if ledger is not None:
        ledger.close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def pantau_app(app: Any) -> Any:
    """The eventsourcing application behind the Flask app."""
    from server.services import pantau

    with app.app_context():
        return pantau()


@pytest.fixture
def seeded(pantau_app: Any) -> Any:
    """Reference committees and one demo account per role."""
    import_committees(pantau_app)
    ensure_demo_accounts(pantau_app)
    return pantau_app


def heard_when_done(catch_up: Any, heard: Any) -> Any:
    """`Worker.catch_up`, returning once the web side's listener has heard of its commits (PostgreSQL).

    There a web process keeps committee status facts until a read-model commit is announced to it
    (server/status_cache.py), a moment after the commit: a reader elsewhere sees changes that moment
    later. A test reading right after `catch_up` stands for a reader who comes after that moment. (On
    SQLite the web side learns of a commit when it reads next: nothing to wait for.)
    """

    def caught_up(*args: Any, **kwargs: Any) -> int:
        before = heard()
        applied = catch_up(*args, **kwargs)
        if applied and before is not None:
            deadline = time.monotonic() + 10
            while heard() == before:
                assert time.monotonic() < deadline, "the listener never heard of the worker's commit"
                time.sleep(0.001)  # polling a condition, not waiting a guessed time
        return applied

    return caught_up


@pytest.fixture
def worker(app: Any, settings: Settings, seeded: Any) -> Iterator[Any]:
    """A projection worker over the same stores, caught up with the seed data."""
    projection_worker = build_worker(settings)
    if isinstance(seeded.account_watch, AccountListener):  # PostgreSQL (server/account_listener.py)
        assert seeded.account_watch.wait_until_valid(10)
        projection_worker.catch_up = heard_when_done(  # type: ignore[method-assign]
            projection_worker.catch_up, seeded.account_watch.vouchers.readmodels_stamp
        )
    projection_worker.catch_up()
    yield projection_worker
    projection_worker.application.close()
    projection_worker.db.close()


def login(client: Any, username: str) -> dict[str, str]:
    """Authorization headers for a demo account."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORDS[username]})
    assert response.status_code == 201, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


@pytest.fixture
def headers(client: Any, seeded: Any) -> dict[str, dict[str, str]]:
    """Authorization headers per role (and for a second PPS officer)."""
    result = {role: login(client, username) for role, username in ROLE_USERS.items()}
    result["other_pps_officer"] = login(client, "pps_bacang")
    return result


def invoke_cli(settings: Settings, *args: str) -> Any:
    """Run a `pantau` command against an instance, as an operator would."""
    from server.cli import cli

    flask_app = create_app({"TESTING": True, "SETTINGS": settings})
    try:
        return flask_app.test_cli_runner().invoke(cli, list(args))
    finally:
        application = flask_app.extensions.get("pantau")
        if application is not None:
            application.close()
