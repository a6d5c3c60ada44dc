"""What happened up to a moment, and how things stood then: the `pantau replay` answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from projections.db import Database
from projections.read import AlertRules
from projections.read import status as status_queries
from projections.read.lists import audit_page
from projections.timetravel import Snapshot, as_of
from projections.views.audit import AuditTrail
from projections.worker import status_views


def replay_until(application: Any, db: Database, until: int | datetime, committee: str | None) -> Snapshot:
    """The audit trail and committee status replayed up to `until`, for one committee or everything."""
    return as_of(application, db, [AuditTrail(), *status_views()], until, committee)


def events(snapshot: Snapshot, page: int = 1000) -> Iterator[dict[str, Any]]:
    """The replayed audit rows in log order."""
    after: int | None = 0
    while after is not None:
        with snapshot.db.transaction() as cur:
            found = audit_page(cur, {"after": after, "limit": page})
        yield from found.items
        after = found.next


def standing(snapshot: Snapshot, committee: str | None, kind: str | None, rules: AlertRules) -> dict[str, Any] | None:
    """The committee's status (or the city's) at the snapshot's moment."""
    with snapshot.db.transaction() as cur:
        if committee is None:
            return status_queries.city(cur, snapshot.at, rules)
        return status_queries.committee_status(cur, committee, kind or "PPS", snapshot.at, rules)


def line(row: dict[str, Any]) -> str:
    """One printed timeline line."""
    who = f"{row['actor'] or '-'} ({row['role'] or '-'})"
    return (
        f"{row['position']:>8}  {row['recorded_at']}  {who:<32}  {row['event_type']:<34}  "
        f"{row['committee'] or '-':<14}  {row['summary']}"
    )
