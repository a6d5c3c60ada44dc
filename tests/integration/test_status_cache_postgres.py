"""GET /committees/{code} on PostgreSQL: answered from memory until the worker announces a commit
(server/status_cache.py), and from the database whenever the reader asks for a position."""

from __future__ import annotations

from typing import Any

import pytest

from projections.read import status as queries
from tests.conftest import PPS
from tests.factories import visit_body

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_committee_read_again_is_answered_from_memory_until_the_worker_commits(
    client: Any, headers: dict[str, dict[str, str]], worker: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    original = queries.committee_facts

    def counted(cur: Any, code: str, *args: Any) -> Any:
        loads.append(code)
        return original(cur, code, *args)

    monkeypatch.setattr(queries, "committee_facts", counted)
    path, auditor = f"/api/v1/committees/{PPS}", headers["auditor"]
    first = client.get(path, headers=auditor)
    assert client.get(path, headers=auditor).json == first.json
    assert loads == [PPS]

    written = client.post("/api/v1/visits", json=visit_body(PPS), headers=headers["pps_officer"])
    assert written.status_code == 201
    worker.catch_up()  # returns once this process's listener has heard of the commit (tests/conftest.py)
    assert client.get(path, headers=auditor).json["status"]["visits"] == first.json["status"]["visits"] + 1
    assert loads == [PPS, PPS]

    for _ in range(2):
        fresh = client.get(path, query_string={"min_position": written.json["position"]}, headers=auditor)
        assert fresh.status_code == 200
    assert loads == [PPS] * 4
