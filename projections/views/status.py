"""Committee status: per committee, the facts its alerts are made of (alerts themselves are computed
at query time from these facts and "now", so a rebuild is deterministic and alerts never go stale).

One row per committee and nothing per record: open complaints and pending corrections are counted at
read time from the complaint queue's and the correction register's own rows (projections/read/status.py),
which hold the same records already. Keeping a second copy of each here cost a third of this worker's
rows and most of this view's time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from projections.batch import Rows, Table, select_in
from projections.db import Cursor
from projections.views import Item, View, iso, record_id
from projections.views.lifecycle import visited_at
from server.domain.checklist import CHECKLISTS
from server.domain.committee import Committee
from server.domain.visit import MonitoringVisit

STATUS = Table("rm_status", {
    "code": "TEXT PRIMARY KEY", "kind": "TEXT NOT NULL", "name": "TEXT NOT NULL", "parent": "TEXT",
    "visits": "INTEGER NOT NULL DEFAULT 0", "last_visit_id": "TEXT", "last_visit_at": "TEXT",
    "checklist_version": "INTEGER", "checklist": "TEXT", "ready_items": "INTEGER", "total_items": "INTEGER",
})
# Tables of earlier versions (per-record copies of visits, complaints and corrections); a rebuild drops them.
RETIRED = ("rm_status_visits", "rm_status_complaints", "rm_status_corrections")


def readiness_counts(version: int, answers: dict[str, bool]) -> tuple[int, int]:
    """(items answered yes, items in the checklist); the checklist version decides what counts."""
    keys = _checklist_keys(version)
    if keys is None:
        return sum(1 for value in answers.values() if value), len(answers)
    return sum(1 for key in keys if answers.get(key)), len(keys)


@lru_cache(maxsize=64)  # checklists are fixed data; every visit of a batch asks for the same one or two
def _checklist_keys(version: int) -> tuple[str, ...] | None:
    checklist = CHECKLISTS.get(version)
    return None if checklist is None else checklist.keys()


class _Batch:
    """The status rows one batch touches: loaded in one query, changed in memory, written once."""

    def __init__(self, cur: Cursor, items: Sequence[Item], status: Rows) -> None:
        self.status = status
        # (handler, event, record id) for the events this view handles, in log order.
        self.changes: list[tuple[Callable[[_Batch, Any, str], None], Any, str]] = []
        # Visit -> its committee, for the visits an amendment may concern: those recorded in this batch,
        # and those that were some committee's latest when the batch began (no other visit's amendment
        # shows on the status, so no other visit needs finding).
        self.visit_committee: dict[str, str] = {}
        codes: set[str] = set()
        amended: list[str] = []
        for _, event in items:
            kind = type(event)
            handler = HANDLERS.get(kind)
            if handler is None:
                continue
            record = record_id(event.originator_id)
            self.changes.append((handler, event, record))
            if kind is Committee.Registered:
                codes.add(event.code)
            elif kind is MonitoringVisit.Recorded:
                codes.add(event.committee)
                self.visit_committee[record] = event.committee
            elif record not in self.visit_committee:
                amended.append(record)
        self.visit_committee.update(_latest_visit_committees(cur, amended, status))
        codes.update(self.visit_committee[visit] for visit in amended if visit in self.visit_committee)
        self.status.load(cur, codes)
        # Committees whose row holds a checklist as a dict, counted and encoded once at the end of the
        # batch: a committee visited many times in one batch shows only its latest checklist.
        self.unsettled: set[str] = set()

    def apply(self, cur: Cursor) -> None:
        """Every change in log order, then the rows written once."""
        for handler, event, record in self.changes:
            handler(self, event, record)
        for code in self.unsettled:
            row = self.status.get(code)
            assert row is not None
            ready, total = readiness_counts(int(row["checklist_version"]), row["checklist"])
            row.update(checklist=_json(row["checklist"]), ready_items=ready, total_items=total)
        self.status.flush(cur)

    def registered(self, event: Any, _: str) -> None:
        if self.status.get(event.code) is None:  # the first registration of a code wins
            self.status.put({
                "code": event.code, "kind": event.kind, "name": event.name, "parent": event.parent, "visits": 0,
                "last_visit_id": None, "last_visit_at": None, "checklist_version": None, "checklist": None,
                "ready_items": None, "total_items": None,
            })

    def visit_recorded(self, event: Any, visit_id: str) -> None:
        row = self.status.get(event.committee)
        if row is None:
            return
        row["visits"] += 1
        when = iso(visited_at(event))
        # Later in the log wins a tie; an older visit sent late by an offline phone does not replace a newer one.
        if row["last_visit_at"] is None or row["last_visit_at"] <= when:
            row.update(last_visit_id=visit_id, last_visit_at=when, checklist_version=event.checklist_version,
                       checklist=event.checklist)
            self.unsettled.add(event.committee)
        self.status.put(row)

    def visit_amended(self, event: Any, visit_id: str) -> None:
        if event.checklist is None:
            return
        committee = self.visit_committee.get(visit_id)
        row = self.status.get(committee) if committee is not None else None
        if row is None or row["last_visit_id"] != visit_id:
            return  # only the committee's latest visit shows its checklist
        row["checklist"] = event.checklist
        self.unsettled.add(row["code"])
        self.status.put(row)


def _latest_visit_committees(cur: Cursor, visit_ids: list[str], status: Rows) -> dict[str, str]:
    """For the given visits that are some committee's latest, that committee.

    A row the buffer remembers is newer than the database's (it may hold writes not yet committed), so
    it answers for its committee, and the database answers only for committees the buffer does not hold."""
    if not visit_ids:
        return {}
    wanted = set(visit_ids)
    remembered = status.remembered()
    held = {row["code"] for row in remembered}
    found = {
        visit: code
        for visit, code in select_in(cur, "SELECT last_visit_id, code FROM rm_status WHERE last_visit_id IN", visit_ids)
        if code not in held
    }
    found.update((row["last_visit_id"], row["code"]) for row in remembered if row["last_visit_id"] in wanted)
    return found


HANDLERS: dict[type, Callable[[_Batch, Any, str], None]] = {
    Committee.Registered: _Batch.registered,
    MonitoringVisit.Recorded: _Batch.visit_recorded,
    MonitoringVisit.Amended: _Batch.visit_amended,
}


class CommitteeStatus(View):
    name = "status"
    tables = ("rm_status",)
    events = frozenset(HANDLERS)
    indexes = ("rm_status_parent ON rm_status (parent)",)

    def create_tables(self, cur: Cursor) -> None:
        STATUS.create(cur)
        # Built with the table: the view itself finds an amended visit's committee by it.
        cur.execute("CREATE INDEX IF NOT EXISTS rm_status_last_visit ON rm_status (last_visit_id)")

    def drop(self, cur: Cursor) -> None:
        super().drop(cur)
        for table in RETIRED:
            cur.execute(f"DROP TABLE IF EXISTS {table}")

    def __init__(self) -> None:
        self._rows = Rows(STATUS)

    def forget(self) -> None:
        self._rows.forget()

    def apply_batch(self, cur: Cursor, items: Sequence[Item]) -> None:
        _Batch(cur, items, self._rows).apply(cur)


# Canonical enough for byte-identical rebuilds: sorted keys, no spaces. One encoder for every call
# (json.dumps builds a new one whenever options are given).
_json = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
