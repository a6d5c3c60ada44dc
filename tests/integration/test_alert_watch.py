"""Committee alerts reach the push pipeline once per occurrence, as CommitteeAlert.Raised events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from projections.read import AlertRules
from server.push.alert_watch import AlertWatcher
from tests.factories import complaint_body, visit_body

PPS = "19.71.01.1004"


def raised_alerts(application: Any) -> list[Any]:
    notifications = application.recorder.select_notifications(start=1, limit=100_000)
    return [n for n in notifications if n.topic.endswith("CommitteeAlert.Raised")]


def watcher_at(worker: Any, moment: datetime) -> AlertWatcher:
    return AlertWatcher(worker.application, worker.db, AlertRules(7, 3), clock=lambda: moment)


def test_an_open_neutrality_complaint_raises_one_alert_a_day(
    client: Any, headers: dict, worker: Any, backend: str
) -> None:
    client.post("/api/v1/complaints", json=complaint_body(PPS, category="neutrality"), headers=headers["pps_officer"])
    worker.catch_up()
    today = datetime.now(UTC)
    assert watcher_at(worker, today).check() == 1
    assert watcher_at(worker, today).check() == 0  # a restart or a second pass raises nothing new
    assert watcher_at(worker, today + timedelta(days=1)).check() == 1
    [first, _] = raised_alerts(worker.application)
    assert PPS.encode() in first.state and b"netralitas" in first.state


def test_a_gap_without_visits_raises_once_per_gap_and_never_visited_committees_stay_quiet(
    client: Any, headers: dict, worker: Any
) -> None:
    now = datetime.now(UTC)
    first = now - timedelta(days=20)  # phones report past times; a time ahead of the server's is not trusted
    assert watcher_at(worker, now).check() == 0  # 42 PPS never visited: on the board, not pushed
    client.post("/api/v1/visits", json=visit_body(PPS, device_time=first.isoformat()), headers=headers["pps_officer"])
    worker.catch_up()
    assert watcher_at(worker, first + timedelta(days=3)).check() == 0
    assert watcher_at(worker, first + timedelta(days=9)).check() == 1
    assert watcher_at(worker, first + timedelta(days=12)).check() == 0
    client.post("/api/v1/visits", json=visit_body(PPS, device_time=now.isoformat()), headers=headers["pps_officer"])
    worker.catch_up()
    assert watcher_at(worker, now + timedelta(days=1)).check() == 0
    assert watcher_at(worker, now + timedelta(days=8)).check() == 1
