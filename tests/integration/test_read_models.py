"""Read models over HTTP: status, queue, register, audit and the event feed, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.conftest import FAR_PPS, OTHER_PPS, PPK, PPS
from tests.factories import complaint_body, correction_body, visit_body

NIK = "1971014403900007"


@pytest.fixture
def reads(client: Any, headers: dict[str, dict[str, str]], worker: Any, backend: str) -> Any:
    """Write through the API, let the worker catch up, read back."""

    class Reads:
        def post(self, path: str, body: dict[str, Any], role: str = "pps_officer", **kw: Any) -> Any:
            response = client.post(path, json=body, headers=headers[role], **kw)
            assert response.status_code in (200, 201), response.json
            return response.json

        def get(self, path: str, role: str = "kpu_admin", accept: str | None = None) -> Any:
            worker.catch_up()
            extra = {"Accept": accept} if accept else {}
            return client.get(path, headers={**headers[role], **extra})

    return Reads()


def test_status_shows_readiness_from_the_latest_visit_and_rolls_up_per_ppk(reads: Any) -> None:
    reads.post("/api/v1/visits", visit_body(PPS))
    items = reads.get(f"/api/v1/status?committee={PPS}").json["items"]
    assert [item["code"] for item in items] == [PPS]
    assert items[0]["ready_items"] == 4 and items[0]["total_items"] == 8 and items[0]["readiness"] == 0.5
    assert [alert["reason"] for alert in items[0]["alerts"]] == []
    ppk = reads.get(f"/api/v1/status?level=ppk&committee={PPK}").json["items"][0]
    assert ppk["code"] == PPK and ppk["visited_pps"] == 1 and ppk["pps_count"] > 1
    never = [a for a in ppk["alerts"] if a["reason"] == "no_visit"]
    assert never and all(a["committee"] != PPS for a in never)


def test_open_neutrality_complaint_and_pending_correction_are_counted(reads: Any) -> None:
    reads.post("/api/v1/complaints", complaint_body(PPS))
    reads.post("/api/v1/corrections", correction_body(PPS))
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert status["open_complaints"] == {"neutrality": 1}
    assert status["pending_corrections"] == 1
    assert "neutrality_complaint" in [a["reason"] for a in status["alerts"]]


@pytest.mark.parametrize("batches", ["one batch", "a batch per write"])
def test_an_amendment_shows_on_the_status_only_for_the_committees_latest_visit(
    reads: Any, worker: Any, batches: str
) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        answer = reads.post(path, body)
        if batches == "a batch per write":  # the amended visit is then found in the stored rows, not the batch
            worker.catch_up()
        return answer

    body = visit_body(PPS)
    older = post("/api/v1/visits", body)["record"]["id"]
    latest = post("/api/v1/visits", visit_body(PPS))["record"]["id"]
    all_yes = {"expected_version": 1, "reason": "salah isi", "checklist": dict.fromkeys(body["checklist"], True)}
    post(f"/api/v1/visits/{older}/amend", all_yes)
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert (status["last_visit_id"], status["ready_items"], status["visits"]) == (latest, 4, 2)
    post(f"/api/v1/visits/{latest}/amend", all_yes)
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert (status["last_visit_id"], status["ready_items"], status["total_items"]) == (latest, 8, 8)


def test_several_visits_and_an_amendment_in_one_batch_leave_the_latest_checklist(reads: Any) -> None:
    """The status view counts and encodes each committee's checklist once, at the end of a batch."""
    keys = visit_body(PPS)["checklist"]
    all_yes = dict.fromkeys(keys, True)
    reads.post("/api/v1/visits", visit_body(PPS, checklist=all_yes))
    latest = reads.post("/api/v1/visits", visit_body(PPS))["record"]["id"]  # 4 of 8
    reads.post("/api/v1/visits", visit_body(OTHER_PPS, checklist=all_yes), role="ppk_officer")
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert (status["last_visit_id"], status["ready_items"], status["visits"]) == (latest, 4, 2)
    assert reads.get(f"/api/v1/committees/{OTHER_PPS}").json["status"]["ready_items"] == 8

    recorded = reads.post("/api/v1/visits", visit_body(PPS))["record"]["id"]
    reads.post(f"/api/v1/visits/{recorded}/amend", {"expected_version": 1, "reason": "salah isi", "checklist": all_yes})
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert (status["last_visit_id"], status["ready_items"], status["total_items"]) == (recorded, 8, 8)


def test_closed_complaints_and_decided_corrections_no_longer_count(reads: Any) -> None:
    complaint = reads.post("/api/v1/complaints", complaint_body(PPS))["record"]["id"]
    correction = reads.post("/api/v1/corrections", correction_body(PPS))["record"]["id"]
    reads.post(f"/api/v1/complaints/{complaint}/acknowledge", {"expected_version": 1}, role="ppk_officer")
    reads.post(f"/api/v1/corrections/{correction}/verify", {"expected_version": 1})
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert (status["open_complaints"], status["pending_corrections"]) == ({"neutrality": 1}, 1)  # still open
    decided = {"expected_version": 2, "reason": "sudah diperiksa"}
    reads.post(f"/api/v1/complaints/{complaint}/dismiss", decided, role="kpu_admin")
    reads.post(f"/api/v1/corrections/{correction}/approve", decided, role="kpu_admin")
    status = reads.get(f"/api/v1/committees/{PPS}").json["status"]
    assert (status["open_complaints"], status["pending_corrections"]) == ({}, 0)
    assert [alert["reason"] for alert in status["alerts"]] == ["no_visit"]  # the neutrality alert is gone


def test_a_status_read_counts_from_the_committees_own_index_entries(tmp_path: Any) -> None:
    """Not from every open complaint in the country: at national scale that made a PPS read take 67 ms.
    (SQLite's plans follow from the schema alone; PostgreSQL's depend on its statistics.)"""
    from projections.db import Database
    from projections.read.status import counts_statement
    from projections.worker import create_schema, default_views

    db = Database(sqlite_path=tmp_path / "readmodels.sqlite3")
    create_schema(db, default_views())
    with db.transaction() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + counts_statement("code = ?", None), [PPS, "2026-11-28T00:00:00Z"])
        plan = " | ".join(str(row[-1]) for row in cur.fetchall())
    db.close()
    assert "COVERING INDEX rm_complaints_open (committee=? AND status=?)" in plan, plan
    assert "COVERING INDEX rm_corrections_pending (committee=? AND status=?)" in plan, plan


def test_complaint_queue_filters_by_status_category_and_committee(reads: Any) -> None:
    first = reads.post("/api/v1/complaints", complaint_body(PPS))
    reads.post("/api/v1/complaints", complaint_body(OTHER_PPS, category="logistics"), role="ppk_officer")
    reads.post(
        f"/api/v1/complaints/{first['record']['id']}/acknowledge", {"expected_version": 1}, role="ppk_officer"
    )
    everything = reads.get("/api/v1/complaints").json["items"]
    assert len(everything) == 2
    assert [i["status"] for i in everything] == ["acknowledged", "filed"]
    assert len(reads.get("/api/v1/complaints?category=logistics").json["items"]) == 1
    assert len(reads.get("/api/v1/complaints?status=filed").json["items"]) == 1
    assert len(reads.get(f"/api/v1/complaints?committee={PPK}").json["items"]) == 2
    assert len(reads.get("/api/v1/complaints?committee=19.71.07").json["items"]) == 0


def test_pps_officer_sees_only_its_own_committee_in_the_queue(reads: Any) -> None:
    reads.post("/api/v1/complaints", complaint_body(PPS))
    reads.post("/api/v1/complaints", complaint_body(OTHER_PPS), role="other_pps_officer")
    mine = reads.get("/api/v1/complaints", role="pps_officer").json["items"]
    assert [item["committee"] for item in mine] == [PPS]
    assert reads.get(f"/api/v1/complaints?committee={FAR_PPS}", role="pps_officer").status_code == 403


@pytest.mark.parametrize(("role", "shown"), [("kpu_admin", NIK), ("legal", NIK), ("ppk_officer", "************0007")])
def test_correction_register_masks_nik_except_for_kpu_admin_and_legal(reads: Any, role: str, shown: str) -> None:
    reads.post("/api/v1/corrections", correction_body(PPS, nik=NIK))
    items = reads.get("/api/v1/corrections", role=role).json["items"]
    assert items[0]["nik"] == shown
    text = reads.get("/api/v1/corrections?format=csv", role=role).data.decode("utf-8-sig")
    assert shown in text and (shown == NIK or NIK not in text)


def test_audit_trail_has_one_row_per_event_and_never_a_nik(reads: Any) -> None:
    created = reads.post("/api/v1/corrections", correction_body(PPS, nik=NIK, details=f"NIK {NIK} pindah"))
    page = reads.get(f"/api/v1/audit?committee={PPS}", role="auditor").json
    rows = page["items"]
    assert [row["event_type"] for row in rows][-1] == "RegistrationCorrection.Requested"
    assert rows[-1]["aggregate_id"] == created["record"]["id"] and rows[-1]["actor"] == "pps_semabung"
    assert rows[-1]["device_time"] == "2026-11-26T11:00:00+07:00"
    assert all(NIK not in str(row) for row in rows)


def test_audit_is_cursor_paginated_by_log_position(reads: Any) -> None:
    for _ in range(3):
        reads.post("/api/v1/complaints", complaint_body(PPS))
    first = reads.get("/api/v1/audit?limit=2", role="auditor").json
    second = reads.get(f"/api/v1/audit?limit=2&after={first['next']}", role="auditor").json
    assert first["next"] == first["items"][-1]["position"]
    assert second["items"][0]["position"] > first["next"]


def test_audit_is_refused_to_officers(reads: Any) -> None:
    assert reads.get("/api/v1/audit", role="ppk_officer").status_code == 403


def test_event_feed_returns_the_log_in_order_with_niks_masked(reads: Any) -> None:
    reads.post("/api/v1/corrections", correction_body(PPS, nik=NIK))
    feed = reads.get("/api/v1/events?after=0&limit=1000", role="auditor").json
    positions = [item["position"] for item in feed["items"]]
    assert positions == sorted(positions) and feed["next"] == positions[-1] == feed["last_position"]
    requested = [i for i in feed["items"] if i["topic"].endswith("Requested")][-1]
    assert requested["data"]["nik"] == "************0007"
    assert NIK not in str(feed)
    hashes = {i["data"]["password_hash"] for i in feed["items"] if "password_hash" in i["data"]}
    assert hashes == {"[redacted]"}


def test_every_list_answers_csv_with_a_bom(reads: Any) -> None:
    reads.post("/api/v1/complaints", complaint_body(PPS, description="=HYPERLINK(\"x\") Keluhan warga"))
    reads.post("/api/v1/corrections", correction_body(PPS, full_name="Ñoman Pulungan"))
    for path in ("/api/v1/status", "/api/v1/status?level=ppk", "/api/v1/complaints", "/api/v1/corrections",
                 "/api/v1/audit"):
        response = reads.get(path, accept="text/csv")
        assert response.status_code == 200, (path, response.data[:300])
        assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
        assert len(rows) >= 2
    queue = reads.get("/api/v1/complaints?format=csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in queue


def test_bad_query_parameters_are_a_422_problem(reads: Any) -> None:
    for path in ("/api/v1/status?level=planet", "/api/v1/complaints?after=x", "/api/v1/audit?from=yesterday",
                 "/api/v1/status?as_of=soon", "/api/v1/corrections?committee=abc", "/api/v1/events?limit=0"):
        response = reads.get(path, role="auditor")
        assert response.status_code == 422, path
        assert response.mimetype == "application/problem+json"


def test_healthz_reports_projection_positions_and_lag(reads: Any) -> None:
    reads.post("/api/v1/visits", visit_body(PPS))
    health = reads.get("/healthz").json
    assert health["projection"]["behind"] == 0
    assert set(health["projection"]["positions"]) >= {"status", "audit", "complaints", "corrections"}
    assert health["projection"]["lag_ms"] is not None
