"""Time travel answers what the live projection showed: random histories, cut at random points."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.db import Database
from projections.read import AlertRules
from projections.read import status as queries
from projections.timetravel import as_of
from projections.views import parse_iso
from projections.worker import Worker, status_views
from server.domain.application import PantauApplication
from server.domain.base import SYSTEM, Context
from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist
from server.domain.complaint import CATEGORIES
from server.domain.errors import DomainError
from server.domain.roles import Actor

PPK = "19.71.01"
PPS = ("19.71.01.1001", "19.71.01.1002", "19.71.01.1003")
KEYS = checklist(CURRENT_CHECKLIST_VERSION).keys()
ADMINS = (Actor("a1", "kpu_satu", "kpu_admin", None), Actor("a2", "kpu_dua", "kpu_admin", None))
# Alerts fire quickly so that the comparison covers them too.
RULES = AlertRules(no_visit_days=0, correction_wait_days=0)
COMPLAINT_STEPS = {
    "acknowledge": {"note": ""}, "investigate": {"note": ""}, "escalate": {"target": "bawaslu", "reason": "serius"},
    "resolve": {"reason": "selesai"}, "dismiss": {"reason": "tidak terbukti"}, "reopen": {"reason": "bukti baru"},
}
CORRECTION_STEPS = {"verify": {"note": ""}, "approve": {"reason": "sah"}, "reject": {"reason": "tidak sah"}}

operations = st.lists(
    st.one_of(
        st.tuples(st.just("visit"), st.sampled_from(PPS), st.lists(st.booleans(), min_size=8, max_size=8)),
        st.tuples(st.just("complaint"), st.sampled_from(PPS), st.sampled_from(CATEGORIES)),
        st.tuples(st.just("complaint_step"), st.integers(0, 5), st.sampled_from(sorted(COMPLAINT_STEPS))),
        st.tuples(st.just("correction"), st.sampled_from(PPS), st.integers(0, 1)),
        st.tuples(st.just("correction_step"), st.integers(0, 5), st.sampled_from(sorted(CORRECTION_STEPS))),
    ),
    min_size=1,
    max_size=25,
)


def perform(app: PantauApplication, op: tuple[Any, ...], complaints: list[Any], corrections: list[Any]) -> None:
    """One command through the application service; a step the lifecycle refuses is simply not taken."""
    kind = op[0]
    actor = ADMINS[0]
    context = Context(actor=actor.username, role=actor.role)
    try:
        if kind == "visit":
            body = {"id": str(uuid4()), "committee": op[1], "checklist_version": CURRENT_CHECKLIST_VERSION,
                    "checklist": dict(zip(KEYS, op[2], strict=True))}
            app.record_visit(actor, body, context)
        elif kind == "complaint":
            body = {"id": str(uuid4()), "committee": op[1], "category": op[2], "description": "keluhan"}
            complaints.append(app.file_complaint(actor, body, context).record)
        elif kind == "correction":
            body = {"id": str(uuid4()), "committee": op[1], "kind": "add_to_dptb", "nik": "1971014403900007",
                    "full_name": "Siti", "target_tps": "TPS 901"}
            corrections.append(app.request_correction(ADMINS[op[2]], body, context).record)
        else:
            step(app, op, complaints if kind == "complaint_step" else corrections, kind == "complaint_step")
    except DomainError:
        pass


def step(app: PantauApplication, op: tuple[Any, ...], records: list[Any], is_complaint: bool) -> None:
    """A lifecycle step on an earlier record, at its current version, decided by the other admin if need be."""
    if not records:
        return
    record_kind = "complaint" if is_complaint else "correction"
    record_id = UUID(records[op[1] % len(records)]["id"])
    current = app.get_record(ADMINS[0], record_kind, record_id)
    params = (COMPLAINT_STEPS if is_complaint else CORRECTION_STEPS)[op[2]]
    decider = ADMINS[1] if current.get("requested_by") == ADMINS[0].username else ADMINS[0]
    context = Context(actor=decider.username, role=decider.role)
    app.act(decider, record_kind, record_id, op[2], current["version"], params, context)


def live_answers(db: Database) -> dict[str, Any]:
    """What the live status endpoints would show right now, judged at the newest event's own time."""
    with db.transaction() as cur:
        cur.execute("SELECT recorded_at FROM rm_audit ORDER BY position DESC LIMIT 1")
        now = parse_iso(cur.fetchone()[0])
        return {
            "pps": queries.pps_page(cur, None, None, None, 100, now, RULES).items,
            "ppk": queries.ppk_page(cur, None, None, None, 100, now, RULES).items,
            "city": queries.city(cur, now, RULES),
            "one": queries.committee_status(cur, PPS[0], "PPS", now, RULES),
        }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations, data=st.data())
def test_as_of_any_cut_equals_the_live_projection_captured_at_that_point(ops: list[Any], data: st.DataObject) -> None:
    app = PantauApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    live = Database.in_memory()
    worker = Worker(app, live, batch_size=3)
    try:
        app.register_committee(PPK, "PPK Uji", SYSTEM)
        for code in PPS:
            app.register_committee(code, f"PPS {code}", SYSTEM)
        complaints: list[Any] = []
        corrections: list[Any] = []
        captured = {}
        worker.catch_up()
        captured[worker.log_end()] = live_answers(live)
        for op in ops:
            perform(app, op, complaints, corrections)
            worker.catch_up()
            captured[worker.log_end()] = live_answers(live)

        cut = data.draw(st.sampled_from(sorted(captured)), label="cut")
        snapshot = as_of(app, live, status_views(), cut)
        try:
            with snapshot.db.transaction() as cur:
                at = snapshot.at
                replayed = {
                    "pps": queries.pps_page(cur, None, None, None, 100, at, RULES).items,
                    "ppk": queries.ppk_page(cur, None, None, None, 100, at, RULES).items,
                    "city": queries.city(cur, at, RULES),
                    "one": queries.committee_status(cur, PPS[0], "PPS", at, RULES),
                }
        finally:
            snapshot.close()
        assert replayed == captured[cut]

        # Replaying only one committee's events (found through the audit view) gives the same answer for it.
        narrow = as_of(app, live, status_views(), cut, PPS[0])
        try:
            with narrow.db.transaction() as cur:
                assert queries.committee_status(cur, PPS[0], "PPS", narrow.at, RULES) == captured[cut]["one"]
        finally:
            narrow.close()
    finally:
        live.close()
        app.close()
