"""Committee status answers: per committee, rolled up per PPK and for the city, alerts computed
from the stored facts and the given `now` (the request time, or the moment asked about)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from projections.db import Cursor
from projections.read import AlertRules, Page, in_scope, placeholders
from projections.views import iso, parse_iso
from server.domain.complaint import OPEN_STATUSES
from server.domain.correction import PENDING_STATUSES

COLUMNS = (
    "code, kind, name, parent, visits, last_visit_id, last_visit_at, checklist_version, checklist, "
    "ready_items, total_items"
)
KEYS = tuple(column.strip() for column in COLUMNS.split(","))
CITY_PAGE = 1000
# The views a status answer is read from: the status rows, and the complaint queue and correction
# register whose records it counts (a read waits for all three; time travel replays all three).
VIEWS = ("status", "complaints", "corrections")
_OPEN = ", ".join(f"'{status}'" for status in OPEN_STATUSES)  # domain constants, not input
_PENDING = ", ".join(f"'{status}'" for status in PENDING_STATUSES)


def _picked(where: str, limit: int | None) -> str:
    """The status rows matching a condition, in code order, at most `limit`."""
    sql = f"SELECT {COLUMNS} FROM rm_status WHERE {where} ORDER BY code"  # noqa: S608 - fixed columns
    return sql if limit is None else f"{sql} LIMIT {int(limit)}"


def _rows(cur: Cursor, where: str, params: list[Any], limit: int | None = None) -> list[dict[str, Any]]:
    cur.execute(_picked(where, limit), params)
    return [dict(zip(KEYS, row, strict=True)) for row in cur.fetchall()]


def counts_statement(where: str, limit: int | None) -> str:
    """The one statement of a status read (see `_with_counts`); its parameters are the condition's, then
    the time before which a pending correction counts as overdue."""
    return (
        f"WITH picked AS ({_picked(where, limit)}) "  # noqa: S608 - fixed columns and placeholders only
        f"SELECT 0, {COLUMNS} FROM picked "
        "UNION ALL SELECT 1, committee, category, NULL, NULL, COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL "
        f"FROM rm_complaints WHERE status IN ({_OPEN}) AND committee IN (SELECT code FROM picked) "
        "GROUP BY committee, category "
        "UNION ALL SELECT 2, committee, NULL, MIN(requested_at), NULL, COUNT(*), NULL, NULL, "
        "SUM(CASE WHEN requested_at < ? THEN 1 ELSE 0 END), NULL, NULL, NULL "
        f"FROM rm_corrections WHERE status IN ({_PENDING}) AND committee IN (SELECT code FROM picked) "
        "GROUP BY committee "
        "ORDER BY 1, 2"
    )


def _with_counts(cur: Cursor, where: str, params: list[Any], now: datetime, rules: AlertRules,
                 limit: int | None) -> list[dict[str, Any]]:
    """Status rows matching a condition, each with its open complaints per category and pending corrections.

    One statement (the rows, then the two kinds of counts for exactly those rows, as parts of a
    UNION): one round trip and one snapshot. On PostgreSQL the three queries and the transaction
    around them had cost five round trips, most of a committee read.
    """
    cutoff = iso(now - timedelta(days=rules.correction_wait_days))
    cur.execute(counts_statement(where, limit), [*params, cutoff])
    rows: dict[str, dict[str, Any]] = {}
    for part, *values in cur.fetchall():
        if part == 0:
            row = dict(zip(KEYS, values, strict=True))
            row.update(open_complaints={}, pending_corrections=0, overdue_corrections=0, oldest_pending_at=None)
            rows[row["code"]] = row
        elif part == 1:
            rows[values[0]]["open_complaints"][values[1]] = int(values[4])
        else:
            rows[values[0]].update(
                pending_corrections=int(values[4]), oldest_pending_at=values[2], overdue_corrections=int(values[7] or 0)
            )
    return list(rows.values())


def _alerts(row: dict[str, Any], now: datetime, rules: AlertRules) -> list[dict[str, Any]]:
    alerts: list[dict[str, Any]] = []
    code = row["code"]
    if row["kind"] == "PPS":
        if row["last_visit_at"] is None:
            alerts.append({"committee": code, "reason": "no_visit", "message": "Never visited", "since": None})
        elif now - parse_iso(row["last_visit_at"]) > timedelta(days=rules.no_visit_days):
            alerts.append({
                "committee": code, "reason": "no_visit", "since": row["last_visit_at"],
                "message": f"No visit in {rules.no_visit_days} days (last {row['days_since_visit']} days ago)",
            })
    neutrality = row["open_complaints"].get("neutrality", 0)
    if neutrality:
        alerts.append({
            "committee": code, "reason": "neutrality_complaint", "count": neutrality,
            "message": f"{neutrality} open neutrality complaint(s)",
        })
    if row["overdue_corrections"]:
        alerts.append({
            "committee": code, "reason": "correction_waiting", "count": row["overdue_corrections"],
            "since": row["oldest_pending_correction_at"],
            "message": f"{row['overdue_corrections']} correction(s) waiting over {rules.correction_wait_days} days",
        })
    return alerts


def _finish(row: dict[str, Any], now: datetime, rules: AlertRules) -> dict[str, Any]:
    """Stored facts plus what depends on `now`."""
    total, ready = row["total_items"], row["ready_items"]
    last = row["last_visit_at"]
    days = max(0, int((now - parse_iso(last)).total_seconds() // 86400)) if last else None
    result = {
        "code": row["code"], "kind": row["kind"], "name": row["name"], "parent": row["parent"],
        "visits": row["visits"], "last_visit_id": row["last_visit_id"], "last_visit_at": last,
        "days_since_visit": days, "checklist_version": row["checklist_version"],
        "checklist": json.loads(row["checklist"]) if row["checklist"] else None,
        "ready_items": ready, "total_items": total,
        "readiness": round(ready / total, 4) if total else None,
        "open_complaints": dict(sorted(row["open_complaints"].items())),
        "open_complaints_total": sum(row["open_complaints"].values()),
        "pending_corrections": row["pending_corrections"],
        "overdue_corrections": row["overdue_corrections"],
        "oldest_pending_correction_at": row["oldest_pending_at"],
    }
    result["alerts"] = _alerts(result, now, rules)
    return result


def statuses(cur: Cursor, where: str, params: list[Any], now: datetime, rules: AlertRules,
             limit: int | None = None) -> list[dict[str, Any]]:
    """Finished status rows matching a condition on rm_status."""
    return [_finish(row, now, rules) for row in _with_counts(cur, where, params, now, rules, limit)]


def rollup(code: str, kind: str, name: str, parent: str | None, members: list[dict[str, Any]]) -> dict[str, Any]:
    """A PPK or the city from its committees: readiness is the mean over PPS, a never-visited PPS counting 0."""
    pps = [m for m in members if m["kind"] == "PPS"]
    categories: dict[str, int] = {}
    for member in members:
        for category, count in member["open_complaints"].items():
            categories[category] = categories.get(category, 0) + count
    visits = [m["last_visit_at"] for m in members if m["last_visit_at"]]
    alerts = [alert for member in members for alert in member["alerts"]]
    return {
        "code": code, "kind": kind, "name": name, "parent": parent,
        "pps_count": len(pps), "visited_pps": sum(1 for m in pps if m["last_visit_at"]),
        "readiness": round(sum(m["readiness"] or 0 for m in pps) / len(pps), 4) if pps else None,
        "last_visit_at": max(visits) if visits else None,
        "open_complaints": dict(sorted(categories.items())),
        "open_complaints_total": sum(categories.values()),
        "pending_corrections": sum(m["pending_corrections"] for m in members),
        "overdue_corrections": sum(m["overdue_corrections"] for m in members),
        "alerting_committees": len({alert["committee"] for alert in alerts}),
        "alerts": alerts,
    }


def pps_page(cur: Cursor, scope: str | None, committee: str | None, after: str | None, limit: int,
             now: datetime, rules: AlertRules) -> Page:
    """PPS statuses in code order."""
    where, params = in_scope(scope, "code", "parent")
    where += " AND kind = 'PPS' AND code > ?"
    params.append(after or "")
    if committee:
        where += " AND (code = ? OR parent = ?)"
        params += [committee, committee]
    items = statuses(cur, where, params, now, rules, limit)
    return Page(items, items[-1]["code"] if len(items) == limit else None)


def ppk_page(cur: Cursor, scope: str | None, committee: str | None, after: str | None, limit: int,
             now: datetime, rules: AlertRules) -> Page:
    """PPK roll-ups (the PPK itself and its PPS) in code order."""
    where, params = in_scope(scope, "code", "parent")
    where += " AND kind = 'PPK' AND code > ?"
    params.append(after or "")
    if committee:
        where += " AND code = ?"
        params.append(committee)
    heads = _rows(cur, where, params, limit)
    codes = [head["code"] for head in heads]
    members: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    if codes:
        marks = placeholders(codes)
        for status in statuses(cur, f"code IN ({marks}) OR parent IN ({marks})", codes + codes, now, rules):
            members[status["parent"] or status["code"]].append(status)
    items = [rollup(h["code"], "PPK", h["name"], None, members[h["code"]]) for h in heads]
    return Page(items, codes[-1] if len(codes) == limit else None)


def city(cur: Cursor, now: datetime, rules: AlertRules, name: str = "Kota") -> dict[str, Any]:
    """The whole city, read in keyset pages so a national-size table never sits in memory twice."""
    members: list[dict[str, Any]] = []
    after = ""
    while True:
        page = statuses(cur, "code > ?", [after], now, rules, CITY_PAGE)
        members += page
        if len(page) < CITY_PAGE:
            break
        after = page[-1]["code"]
    return rollup("city", "CITY", name, None, members)


def committee_status(cur: Cursor, code: str, kind: str, now: datetime, rules: AlertRules) -> dict[str, Any] | None:
    """One PPS's status, or one PPK's roll-up with its members; None if the view does not know it.
    One statement either way, so callers may read it outside a transaction (`Database.statement`)."""
    return committee_answer(committee_facts(cur, code, kind, now, rules), code, kind, now, rules)


def committee_facts(cur: Cursor, code: str, kind: str, now: datetime, rules: AlertRules) -> list[dict[str, Any]]:
    """The stored facts `committee_answer` works from: the committee's row (a PPK: and its members'),
    with counts. Only the overdue-correction counts depend on `now`."""
    if kind == "PPS":
        return _with_counts(cur, "code = ?", [code], now, rules, None)
    return _with_counts(cur, "code = ? OR parent = ?", [code, code], now, rules, None)


def committee_answer(facts: list[dict[str, Any]], code: str, kind: str, now: datetime,
                     rules: AlertRules) -> dict[str, Any] | None:
    """`committee_status` from its facts (which it does not change, so they may be kept and reused)."""
    members = [_finish(row, now, rules) for row in facts]
    if kind == "PPS":
        return members[0] if members else None
    head = next((m for m in members if m["code"] == code), None)
    if head is None:
        return None
    result = rollup(code, "PPK", head["name"], None, members)
    result["members"] = [m for m in members if m["code"] != code]
    return result
