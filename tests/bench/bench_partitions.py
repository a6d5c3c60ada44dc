"""Past one writer on PostgreSQL: 1, 2 and 4 partitions (one application, hence one events table, each),
the same number of writer processes throughout, aggregate ingest through the real record_visit command.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from server.config import Settings
from tests.bench.common import Figure, Results, postgres_database

WRITERS = 4
PPS, PPK = "19.71.01.1004", "19.71.01"


def partition_class(index: int) -> type:
    """A PantauApplication whose name, hence its PostgreSQL table names, belong to one partition."""
    from server.domain.application import PantauApplication

    return type(f"PantauP{index}", (PantauApplication,), {"name": f"PantauP{index}"})


def _writer(args: tuple[str, int, float]) -> int:
    """One writer process: record visits into its partition until the deadline; how many were saved."""
    url, index, seconds = args
    os.environ.setdefault("PANTAU_PASSWORD_COST", "10")
    from server.domain.base import Context
    from server.domain.roles import Actor
    from tests.factories import visit_body

    settings = Settings(instance_path=Path(tempfile.gettempdir()), database_url=url)
    # The tables exist already; concurrent CREATE TABLE IF NOT EXISTS collides in PostgreSQL's catalogue.
    application = partition_class(index)(env={**settings.eventstore_env(), "CREATE_TABLE": "n"})
    actor = Actor(uuid.uuid4().hex, f"pps_p{index}", "pps_officer", PPS)
    saved = 0
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            body = visit_body(PPS)
            application.record_visit(
                actor, body, Context(actor=actor.username, role=actor.role, submission_id=body["id"])
            )
            saved += 1
    finally:
        application.close()
    return saved


def run(results: Results, seconds: float, partitions: tuple[int, ...] = (1, 2, 4)) -> None:
    from server.domain.base import SYSTEM

    rates: dict[int, float] = {}
    for count in partitions:
        with postgres_database("pantau_part") as url:
            settings = Settings(instance_path=Path(tempfile.gettempdir()), database_url=url)
            for index in range(1, count + 1):
                application = partition_class(index)(env=settings.eventstore_env())
                application.register_committee(PPK, "PPK Bukit Intan", SYSTEM)
                application.register_committee(PPS, "PPS Semabung Lama", SYSTEM)
                application.close()
            jobs = [(url, 1 + writer % count, seconds) for writer in range(WRITERS)]
            with multiprocessing.get_context("spawn").Pool(WRITERS) as pool:
                saved = pool.map(_writer, jobs)
            rates[count] = sum(saved) / seconds
    for count in partitions:
        results.add(
            Figure(
                "partitions",
                "postgres",
                f"{count} partition(s), {WRITERS} writer processes, visits/s",
                rates[count],
                rates[partitions[0]],
                "saves/s",
                note="baseline: 1 partition",
            )
        )


def info() -> dict[str, Any]:
    return {"writers": WRITERS}
