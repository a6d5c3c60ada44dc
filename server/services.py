"""The per-process eventsourcing application, built on first use (after gunicorn forks, never at import)."""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError

from server.account_listener import AccountListener, CoherentRepository, Vouchers
from server.config import Settings
from server.domain.application import PantauApplication
from server.per_process import per_process, retry_schema_race
from server.persistence import PostgresPositionRecorder
from server.status_cache import StatusCache


class ServingApplication(PantauApplication):
    """The application of a serving process (web, CLI). On PostgreSQL it serves accounts from memory
    while an AccountListener vouches for them, so a request's token check needs no round trip."""

    name = PantauApplication.name  # the library names tables (and reads env) after the class otherwise

    def construct_repository(self) -> Any:
        repository = super().construct_repository()
        self.account_listener: AccountListener | None = None
        if not isinstance(self.recorder, PostgresPositionRecorder) or repository.cache is None:
            return repository
        self.account_listener = self.recorder.account_listener()
        return CoherentRepository(
            event_store=repository.event_store,
            snapshot_store=repository.snapshot_store,
            cache_maxsize=int(self.env[self.AGGREGATE_CACHE_MAXSIZE]),
            fastforward=repository.fastforward,
            fastforward_skipping=repository.fastforward_skipping,
            deepcopy_from_cache=repository.deepcopy_from_cache,
            vouchers=self.account_listener.vouchers,
        )

    @property
    def vouchers(self) -> Vouchers | None:
        """What this process may serve from memory; None without a listener (SQLite, in memory)."""
        return self.account_listener.vouchers if self.account_listener is not None else None

    def close(self) -> None:
        if self.account_listener is not None:
            self.account_listener.close()
        super().close()


def build_application(settings: Settings, cls: type[PantauApplication] = PantauApplication) -> PantauApplication:
    """A PantauApplication on the configured event store (retried if it lost a schema-creation race)."""
    return retry_schema_race(lambda: cls(env=settings.eventstore_env()), (PersistenceError, psycopg.Error))


def pantau() -> PantauApplication:
    """This process's application for the current Flask app."""
    return per_process("pantau", lambda settings: build_application(settings, ServingApplication))


def status_cache() -> StatusCache:
    """This process's committee status facts (server/status_cache.py)."""
    return per_process("pantau.status_cache", lambda settings: StatusCache(getattr(pantau(), "vouchers", None)))
