"""Read your writes (min_position) and time travel (as_of) over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

from projections.worker import Worker
from tests.conftest import PPK, PPS
from tests.factories import complaint_body, visit_body


def post(client: Any, headers: dict[str, str], path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.json
    return response.json


def test_a_read_waits_for_the_worker_to_reach_the_written_position(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str, monkeypatch: Any
) -> None:
    # What is tested is the waiting, not its 2 s bound: a loaded CI machine must not make this flaky.
    monkeypatch.setattr("server.api.readside.READ_WAIT_SECONDS", 60.0)
    written = post(client, headers["pps_officer"], "/api/v1/complaints", complaint_body(PPS))
    # The worker catches up while the request is already waiting for it.
    catching_up = threading.Thread(target=worker.catch_up)
    catching_up.start()
    response = client.get(f"/api/v1/complaints?min_position={written['position']}", headers=headers["kpu_admin"])
    catching_up.join()
    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [written["record"]["id"]]


def test_a_read_the_worker_has_not_reached_is_503_with_retry_after(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str
) -> None:
    written = post(client, headers["pps_officer"], "/api/v1/visits", visit_body(PPS))
    response = client.get(f"/api/v1/status?min_position={written['position']}", headers=headers["kpu_admin"])
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.mimetype == "application/problem+json"
    assert response.json["min_position"] == written["position"] and response.json["position"] < written["position"]


def test_committee_as_of_a_position_or_a_time_shows_what_the_live_view_showed_then(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str
) -> None:
    officer, auditor = headers["pps_officer"], headers["auditor"]
    first = post(client, officer, "/api/v1/visits", visit_body(PPS))
    worker.catch_up()
    live_then = client.get(f"/api/v1/committees/{PPS}", headers=auditor).json["status"]
    keys = first["record"]["checklist"]
    post(client, officer, "/api/v1/visits", visit_body(PPS, checklist=dict.fromkeys(keys, True)))
    post(client, officer, "/api/v1/complaints", complaint_body(PPS))
    worker.catch_up()
    now = client.get(f"/api/v1/committees/{PPS}", headers=auditor).json["status"]
    assert now["readiness"] == 1.0 and now["open_complaints_total"] == 1

    by_position = client.get(f"/api/v1/committees/{PPS}?as_of={first['position']}", headers=auditor).json
    assert by_position["as_of"]["position"] == first["position"]
    assert by_position["status"]["readiness"] == live_then["readiness"] == 0.5
    assert by_position["status"]["open_complaints_total"] == 0
    recorded_at = client.get(f"/api/v1/audit?aggregate={first['record']['id']}", headers=auditor).json["items"][0][
        "recorded_at"
    ]
    by_time = client.get(f"/api/v1/committees/{PPS}", query_string={"as_of": recorded_at}, headers=auditor).json
    assert by_time["as_of"]["position"] == first["position"]
    assert by_time["status"]["readiness"] == 0.5


def test_status_list_as_of_a_moment_before_anything_happened_is_all_unvisited(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str
) -> None:
    post(client, headers["pps_officer"], "/api/v1/visits", visit_body(PPS))
    worker.catch_up()
    then = client.get(f"/api/v1/status?level=ppk&committee={PPK}&as_of=2020-01-01T00:00:00+07:00",
                      headers=headers["kpu_admin"]).json
    assert then["as_of"]["position"] == 0 and then["items"] == []
    live = client.get(f"/api/v1/status?level=ppk&committee={PPK}", headers=headers["kpu_admin"]).json["items"][0]
    assert live["visited_pps"] == 1


def test_a_min_position_beyond_the_end_of_the_log_is_422_at_once(
    client: Any, headers: dict[str, dict[str, str]], worker: Worker, backend: str
) -> None:
    response = client.get("/api/v1/audit?min_position=999999999", headers=headers["auditor"])
    assert response.status_code == 422 and "min_position" in response.json["errors"]
