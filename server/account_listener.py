"""Accounts served from memory on PostgreSQL, with a revocation still effective at once everywhere.

Every authenticated request needs its account as it stands. Reading it from the store each time (the
library's fast-forward of the cached aggregate) is, on PostgreSQL, a network round trip per request: a
third of a committee read's cost. (SQLite's processes share one machine: server/account_stamp.py.)
Skipping it is safe only if no process can go on trusting an account after a change to it (a revoked
token, a deactivation) has been answered. That is what this module keeps:

- Every save of account events also sends `NOTIFY pantau_accounts` with their log positions, in the
  same transaction (server/persistence.py).
- Each web process runs one `AccountListener`: a thread that LISTENs, forgets the accounts it is told
  about, and holds a row in `pantau_leases` saying how far it has read (`acked`) and until when it
  vouches for its memory (`expires_at`, renewed every second, PostgreSQL's clock).
- The save does not return until every live lease has acked its positions or expired. So once a
  revocation is answered, every process has either forgotten the account or stopped trusting its memory.
- A process trusts its memory of an account only while its own lease is valid by its own clock, which
  runs out before PostgreSQL's (`MARGIN_SECONDS`), and only if it loaded the account after its lease began and
  no notification arrived during the load. A lease that lapsed in PostgreSQL's view (`epoch` moved)
  forgets everything, so a listener that stalled cannot resurrect what it vouched for before.

A process whose listener is cut off falls back to the round trip per request; writers then wait at
most `LEASE_SECONDS` for its lease to run out (also after a crash: a clean close removes the row).
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Repository
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier, Literal

from projections.db import READMODELS_CHANNEL

CHANNEL = "pantau_accounts"
LEASES_TABLE = "pantau_leases"
WATCHED_TOPIC = "server.domain.account:Account"  # the aggregate every authenticated request reads
LEASE_SECONDS = 3.0
RENEW_SECONDS = 1.0
MARGIN_SECONDS = 0.5  # our clock may run up to this much slow against PostgreSQL's over one lease
NOTIFY_PAYLOAD_ITEMS = 100  # "position:hex" items per NOTIFY; PostgreSQL caps a payload at 8,000 bytes

log = logging.getLogger(__name__)


def is_watched(topic: str) -> bool:
    """Whether a stored event's topic belongs to an account (an event class nested in Account)."""
    return topic.startswith(WATCHED_TOPIC + ".")


def payloads(changes: Iterable[tuple[int, UUID]]) -> list[str]:
    """NOTIFY payloads for (position, account id) pairs: "position:hex,position:hex", chunked."""
    items = [f"{position}:{originator.hex}" for position, originator in changes]
    return [",".join(items[i : i + NOTIFY_PAYLOAD_ITEMS]) for i in range(0, len(items), NOTIFY_PAYLOAD_ITEMS)]


def parse_payload(payload: str) -> list[tuple[int, UUID]]:
    """The (position, account id) pairs of one NOTIFY payload."""
    pairs = []
    for item in payload.split(","):
        position, _, hex_id = item.partition(":")
        pairs.append((int(position), UUID(hex=hex_id)))
    return pairs


class Vouchers:
    """Which accounts this process may serve from memory: the listener's state, without its I/O."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._vouched: dict[UUID, int] = {}
        self._generation = 0  # moves when everything vouched for so far must be forgotten
        self._changes = 0  # notifications handled, so a load that straddles one is not vouched for
        self._readmodel_commits = 0  # read-model transactions committed since the lease began
        self._valid_until = 0.0  # time.monotonic() until which our lease holds
        self.acked = 0  # the highest log position whose notification was handled

    def valid(self) -> bool:
        return self._clock() < self._valid_until

    def vouches(self, account_id: UUID) -> bool:
        """Whether the cached account may be served without asking PostgreSQL."""
        return self.valid() and self._vouched.get(account_id) == self._generation

    def stamp(self) -> tuple[int, int] | None:
        """Taken before loading an account; None while the lease is not valid."""
        with self._lock:
            return (self._generation, self._changes) if self.valid() else None

    def vouch(self, account_id: UUID, stamp: tuple[int, int]) -> None:
        """Vouch for an account loaded after `stamp`, unless anything changed meanwhile."""
        with self._lock:
            if stamp == (self._generation, self._changes) and self.valid():
                self._vouched[account_id] = self._generation

    def readmodels_stamp(self) -> tuple[int, int] | None:
        """Equal before and after two reads of the read models if nothing committed in between that we
        know of; None while the lease is not valid (then nothing read may be kept)."""
        return (self._generation, self._readmodel_commits) if self.valid() else None

    def readmodels_changed(self) -> None:
        with self._lock:
            self._readmodel_commits += 1

    def changed(self, changes: Iterable[tuple[int, UUID]]) -> None:
        """Forget accounts that changed; called before their positions are acked."""
        with self._lock:
            for position, account_id in changes:
                self._vouched.pop(account_id, None)
                self._changes += 1
                self.acked = max(self.acked, position)

    def renewed(self, started: float, lapsed: bool) -> None:
        """A renewal sent at `started` (monotonic) succeeded; `lapsed`: PostgreSQL saw the lease expire."""
        with self._lock:
            if lapsed or started >= self._valid_until:
                self._forget_all()
            self._valid_until = started + LEASE_SECONDS - MARGIN_SECONDS

    def lapse(self) -> None:
        """The listener lost its connection: trust nothing until a new lease holds."""
        with self._lock:
            self._valid_until = 0.0
            self._forget_all()

    def _forget_all(self) -> None:
        self._generation += 1
        self._vouched.clear()


class AccountListener:
    """The thread that keeps this process's Vouchers true (see the module's docstring)."""

    def __init__(self, conninfo: str, connect_kwargs: dict[str, Any], schema: str, events_table: str) -> None:
        self.vouchers = Vouchers()
        self._conninfo = conninfo
        self._connect_kwargs = {k: v for k, v in connect_kwargs.items() if k != "row_factory"}
        key = uuid.uuid4().hex[:12]
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{key}"
        self._wake_channel = f"pantau_wake_{key}"  # close() notifies it, so the thread stops at once
        self.application_name = f"pantau-listener {key}"  # as pg_stat_activity shows its connection
        leases = SQL("{}.{}").format(Identifier(schema), Identifier(LEASES_TABLE))
        self._last_position = SQL("SELECT coalesce(max(notification_id), 0) FROM {}.{}").format(
            Identifier(schema), Identifier(events_table)
        )
        interval = SQL("make_interval(secs => {})").format(Literal(LEASE_SECONDS))
        self._register = SQL(
            "INSERT INTO {leases} (holder, acked, expires_at, epoch) VALUES (%s, %s, now() + {interval}, 0) "
            "ON CONFLICT (holder) DO UPDATE SET acked = excluded.acked, expires_at = excluded.expires_at, "
            "epoch = {leases_name}.epoch + 1 RETURNING epoch"
        ).format(leases=leases, interval=interval, leases_name=Identifier(LEASES_TABLE))
        # `expires_at` on the right is the old value: an expired lease counts as lapsed (epoch moves).
        self._renew = SQL(
            "UPDATE {leases} SET acked = %s, expires_at = now() + {interval}, "
            "epoch = CASE WHEN expires_at > now() THEN epoch ELSE epoch + 1 END "
            "WHERE holder = %s RETURNING epoch"
        ).format(leases=leases, interval=interval)
        self._release = SQL("DELETE FROM {leases} WHERE holder = %s").format(leases=leases)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pantau-account-listener", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Stop listening and remove our lease, so writers do not wait for it to expire."""
        if self._stop.is_set():
            return
        self._stop.set()
        atexit.unregister(self.close)
        try:
            with self._connect() as conn:
                conn.execute(SQL("NOTIFY {}").format(Identifier(self._wake_channel)))
                self._thread.join(timeout=RENEW_SECONDS + 2)
                conn.execute(self._release, (self._holder,))
        except psycopg.Error:
            pass  # the lease then runs out by itself within LEASE_SECONDS

    def wait_until_valid(self, timeout: float) -> bool:
        """For tests and start-up checks: whether a lease holds within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not self.vouchers.valid():
            if time.monotonic() > deadline or self._stop.wait(0.01):
                return False
        return True

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5,
                               application_name=self.application_name, **self._connect_kwargs)

    def _run(self) -> None:
        pause = 0.1
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    self._serve(conn)
                    pause = 0.1
            except Exception as error:  # whatever stopped it, start over: never die silently
                log.warning("account listener: %s; serving accounts from PostgreSQL until it reconnects",
                            type(error).__name__)
            finally:
                self.vouchers.lapse()
            self._stop.wait(pause)
            pause = min(pause * 2, 5.0)

    def _serve(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(SQL("LISTEN {}").format(Identifier(CHANNEL)))
        conn.execute(SQL("LISTEN {}").format(Identifier(READMODELS_CHANNEL)))
        conn.execute(SQL("LISTEN {}").format(Identifier(self._wake_channel)))
        # Positions up to here were committed before we listened: what they changed, we load fresh.
        row = conn.execute(self._last_position).fetchone()
        self.vouchers.acked = max(self.vouchers.acked, int(row[0]) if row else 0)
        epoch = self._register_lease(conn)
        next_renewal = time.monotonic() + RENEW_SECONDS
        while not self._stop.is_set():
            timeout = max(0.0, next_renewal - time.monotonic())
            changes = []
            for notification in conn.notifies(timeout=timeout, stop_after=1):
                if notification.channel == CHANNEL:
                    changes += parse_payload(notification.payload)
                elif notification.channel == READMODELS_CHANNEL:
                    self.vouchers.readmodels_changed()
            self.vouchers.changed(changes)
            if changes or time.monotonic() >= next_renewal:
                started = time.monotonic()
                renewed = conn.execute(self._renew, (self.vouchers.acked, self._holder)).fetchone()
                if renewed is None:  # our row was removed: register again, trusting nothing from before
                    epoch = self._register_lease(conn)
                else:
                    self.vouchers.renewed(started, lapsed=int(renewed[0]) != epoch)
                    epoch = int(renewed[0])
                next_renewal = started + RENEW_SECONDS

    def _register_lease(self, conn: psycopg.Connection[Any]) -> int:
        """(Re)start our lease, trusting nothing vouched for before; its epoch."""
        started = time.monotonic()
        row = conn.execute(self._register, (self._holder, self.vouchers.acked)).fetchone()
        self.vouchers.renewed(started, lapsed=True)
        return int(row[0]) if row else 0


class CoherentRepository(Repository):  # type: ignore[type-arg]
    """The library's repository, serving vouched-for accounts from its cache without a round trip."""

    def __init__(self, *args: Any, vouchers: Vouchers, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vouchers = vouchers

    def get(self, aggregate_id: Any, *, version: int | None = None, **kwargs: Any) -> Any:
        if version is None and self.cache is not None and self.vouchers.vouches(aggregate_id):
            try:
                aggregate = self.cache.get(aggregate_id)
            except KeyError:
                pass
            else:
                copy = kwargs.get("deepcopy_from_cache", True) and self.deepcopy_from_cache
                return deepcopy(aggregate) if copy else aggregate
        stamp = self.vouchers.stamp() if version is None else None
        aggregate = super().get(aggregate_id, version=version, **kwargs)
        if stamp is not None and get_topic(type(aggregate)) == WATCHED_TOPIC:
            self.vouchers.vouch(aggregate_id, stamp)
        return aggregate
