"""The dispatcher's own tables: its log position, who may be told what, and the delivery outbox.

Nothing here is a read model: these tables are never dropped or rebuilt, because the outbox is the
memory of what was already sent. On SQLite they live in a file of their own (push.sqlite3); on
PostgreSQL beside the event store, prefixed `push_`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.db import Cursor, Database
from server.config import Settings
from server.domain.push_rules import Audience, event_name

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS push_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS push_accounts (account_id TEXT PRIMARY KEY, username TEXT NOT NULL, role TEXT, "
    "scope TEXT, language TEXT NOT NULL, locked_until DOUBLE PRECISION)",
    "CREATE INDEX IF NOT EXISTS push_accounts_role ON push_accounts (role, scope)",
    "CREATE TABLE IF NOT EXISTS push_subscriptions (id TEXT PRIMARY KEY, username TEXT NOT NULL, "
    "endpoint TEXT NOT NULL, p256dh TEXT NOT NULL, auth TEXT NOT NULL, since DOUBLE PRECISION NOT NULL, "
    "active INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS push_subscriptions_user ON push_subscriptions (username)",
    # One row per (event position, subscription): the primary key is what makes a second send impossible.
    "CREATE TABLE IF NOT EXISTS push_deliveries (position BIGINT NOT NULL, subscription_id TEXT NOT NULL, "
    "username TEXT NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, ttl INTEGER NOT NULL, urgency TEXT NOT NULL, "
    "topic TEXT NOT NULL, event_at DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, "
    "next_attempt_at DOUBLE PRECISION NOT NULL, last_status INTEGER, last_error TEXT, "
    "updated_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (position, subscription_id))",
    "CREATE INDEX IF NOT EXISTS push_deliveries_due ON push_deliveries (status, next_attempt_at)",
)
FOREVER = 1e18  # a lock without an end date, as epoch seconds both engines store exactly
TRACKING_NAME = "push"


def push_database(settings: Settings) -> Database:
    """The store for the dispatcher's tables (never the read-model file, which rebuilds may delete)."""
    if settings.uses_postgres:
        return Database(postgres_url=settings.database_url)
    return Database(sqlite_path=settings.push_sqlite_path)


def create(db: Database) -> None:
    with db.transaction(write=True) as cur:
        for statement in SCHEMA:
            cur.execute(statement)


def position(cur: Cursor) -> int:
    cur.execute("SELECT position FROM push_tracking WHERE name = ?", (TRACKING_NAME,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def advance(cur: Cursor, new_position: int) -> None:
    cur.execute(
        "INSERT INTO push_tracking (name, position) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        (TRACKING_NAME, new_position),
    )


def apply_directory(cur: Cursor, event: Any) -> None:
    """Keep accounts and subscriptions as of the event being processed, so recipients follow log order."""
    name, key = event_name(event), event.originator_id.hex
    if name == "Account.Created":
        cur.execute(
            "INSERT INTO push_accounts (account_id, username, language) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (key, event.username, event.language),
        )
    elif name == "Account.RoleGranted":
        cur.execute(
            "UPDATE push_accounts SET role = ?, scope = ? WHERE account_id = ?", (event.role, event.committee, key)
        )
    elif name == "Account.RoleRevoked":
        cur.execute("UPDATE push_accounts SET role = NULL, scope = NULL WHERE account_id = ?", (key,))
    elif name == "Account.Locked":
        until = _epoch(event.until) if event.until else FOREVER
        cur.execute("UPDATE push_accounts SET locked_until = ? WHERE account_id = ?", (until, key))
    elif name == "Account.Unlocked":
        cur.execute("UPDATE push_accounts SET locked_until = NULL WHERE account_id = ?", (key,))
    elif name == "PushSubscription.Subscribed":
        cur.execute(
            "INSERT INTO push_subscriptions (id, username, endpoint, p256dh, auth, since, active) "
            "VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT DO NOTHING",
            (key, event.username, event.endpoint, event.p256dh, event.auth, event.timestamp.timestamp()),
        )
    elif name == "PushSubscription.Renewed":
        cur.execute(
            "UPDATE push_subscriptions SET username = ?, p256dh = ?, auth = ?, since = ?, active = 1 WHERE id = ?",
            (event.username, event.p256dh, event.auth, event.timestamp.timestamp(), key),
        )
    elif name == "PushSubscription.Ended":
        deactivate(cur, key)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def deactivate(cur: Cursor, subscription_id: str) -> None:
    cur.execute("UPDATE push_subscriptions SET active = 0 WHERE id = ?", (subscription_id,))


def recipients(cur: Cursor, audiences: Iterable[Audience], at: float) -> dict[str, tuple[str, str]]:
    """Active subscriptions of unlocked accounts in the audiences: subscription id -> (username, language)."""
    found: dict[str, tuple[str, str]] = {}
    base = (
        "SELECT s.id, a.username, a.language FROM push_subscriptions s JOIN push_accounts a ON a.username = s.username "
        "WHERE s.active = 1 AND a.role IS NOT NULL AND (a.locked_until IS NULL OR a.locked_until <= ?)"
    )
    for audience in audiences:
        if audience.username is not None:
            cur.execute(base + " AND a.username = ?", (at, audience.username))
        elif audience.scope is not None:
            cur.execute(base + " AND a.role = ? AND a.scope = ?", (at, audience.role, audience.scope))
        else:
            cur.execute(base + " AND a.role = ?", (at, audience.role))
        for subscription, username, language in cur.fetchall():
            found[subscription] = (username, language)
    return found


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row with the subscription it goes to."""

    position: int
    subscription_id: str
    kind: str
    payload: str
    ttl: int
    urgency: str
    topic: str
    event_at: float
    attempts: int
    endpoint: str
    p256dh: str
    auth: str
    active: bool

    def subscription_info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


def enqueue(cur: Cursor, position: int, subscription_id: str, username: str, kind: str, payload: str,
            ttl: int, urgency: str, topic: str, event_at: float, now: float) -> None:
    """Add a pending delivery; a second enqueue of the same pair changes nothing."""
    cur.execute(
        "INSERT INTO push_deliveries (position, subscription_id, username, kind, payload, ttl, urgency, topic, "
        "event_at, status, attempts, next_attempt_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?) "
        "ON CONFLICT (position, subscription_id) DO NOTHING",
        (position, subscription_id, username, kind, payload, ttl, urgency, topic, event_at, now, now),
    )


def due(cur: Cursor, now: float, limit: int) -> list[tuple[int, str]]:
    cur.execute(
        "SELECT position, subscription_id FROM push_deliveries WHERE status = 'pending' AND next_attempt_at <= ? "
        "ORDER BY next_attempt_at, position LIMIT ?",
        (now, limit),
    )
    return [(int(row[0]), str(row[1])) for row in cur.fetchall()]


def claim(cur: Cursor, position: int, subscription_id: str, now: float) -> Delivery | None:
    """Move a pending row to 'sending' (committed before the send); None if someone else has it."""
    claimed = cur.execute(
        "UPDATE push_deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ? "
        "WHERE position = ? AND subscription_id = ? AND status = 'pending'",
        (now, position, subscription_id),
    ).rowcount
    if claimed != 1:
        return None
    cur.execute(
        "SELECT d.kind, d.payload, d.ttl, d.urgency, d.topic, d.event_at, d.attempts, s.endpoint, s.p256dh, s.auth, "
        "s.active FROM push_deliveries d JOIN push_subscriptions s ON s.id = d.subscription_id "
        "WHERE d.position = ? AND d.subscription_id = ?",
        (position, subscription_id),
    )
    row = cur.fetchone()
    return Delivery(position, subscription_id, row[0], row[1], int(row[2]), row[3], row[4], float(row[5]),
                    int(row[6]), row[7], row[8], row[9], bool(row[10]))


def finish(cur: Cursor, delivery: Delivery, status: str, now: float, next_attempt_at: float | None = None,
           http_status: int | None = None, error: str | None = None) -> None:
    """Record how a claimed send ended: done, or back to 'pending' for a later attempt."""
    cur.execute(
        "UPDATE push_deliveries SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at), last_status = ?, "
        "last_error = ?, updated_at = ? WHERE position = ? AND subscription_id = ? AND status = 'sending'",
        (status, next_attempt_at, http_status, error, now, delivery.position, delivery.subscription_id),
    )


def abandon_interrupted(cur: Cursor, older_than: float, now: float) -> int:
    """Rows left in 'sending' by a dispatcher that died mid-send: maybe sent, so never sent again."""
    return cur.execute(
        "UPDATE push_deliveries SET status = 'unknown', updated_at = ?, "
        "last_error = 'dispatcher stopped during the send; not retried (at most once)' "
        "WHERE status = 'sending' AND updated_at < ?",
        (now, older_than),
    ).rowcount


def subscriptions_older_than(cur: Cursor, cutoff: float) -> list[str]:
    cur.execute("SELECT id FROM push_subscriptions WHERE active = 1 AND since < ?", (cutoff,))
    return [str(row[0]) for row in cur.fetchall()]


def deliveries(cur: Cursor) -> list[dict[str, Any]]:
    """Every outbox row, oldest first (tests, and the operator's `pantau push status`)."""
    cur.execute(
        "SELECT position, subscription_id, username, kind, status, attempts, last_status, last_error "
        "FROM push_deliveries ORDER BY position, subscription_id"
    )
    names = ("position", "subscription_id", "username", "kind", "status", "attempts", "last_status", "last_error")
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
