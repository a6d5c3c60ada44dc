"""The per-process eventsourcing application, built on first use (after gunicorn forks, never at import)."""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError

from server.account_listener import AccountListener, CoherentRepository
from server.account_stamp import AccountStamp
from server.config import Settings
from server.domain.application import PantauApplication
from server.per_process import per_process, retry_schema_race
from server.readmodels import readmodels
from server.status_cache import StatusCache

AccountWatch = AccountListener | AccountStamp


class ServingApplication(PantauApplication):
    """The application of a serving process (web, CLI): it serves accounts from memory while its store's
    account watch vouches for them, so a request's token check costs no query (server/account_listener.py
    on PostgreSQL, server/account_stamp.py on SQLite)."""

    name = PantauApplication.name  # the library names tables (and reads env) after the class otherwise

    def construct_repository(self) -> Any:
        repository = super().construct_repository()
        watch = getattr(self.recorder, "account_watch", None)
        self.account_watch: AccountWatch | None = watch() if watch is not None and repository.cache else None
        if self.account_watch is None:
            return repository
        return CoherentRepository(
            event_store=repository.event_store,
            snapshot_store=repository.snapshot_store,
            cache_maxsize=int(self.env[self.AGGREGATE_CACHE_MAXSIZE]),
            fastforward=repository.fastforward,
            fastforward_skipping=repository.fastforward_skipping,
            deepcopy_from_cache=repository.deepcopy_from_cache,
            vouchers=self.account_watch.vouchers,
        )

    @property
    def vouchers(self) -> Any:
        """What this process may serve from memory; None without an account watch (in memory)."""
        return self.account_watch.vouchers if self.account_watch is not None else None

    def close(self) -> None:
        if self.account_watch is not None:
            self.account_watch.close()
        super().close()


def build_application(settings: Settings, cls: type[PantauApplication] = PantauApplication) -> PantauApplication:
    """A PantauApplication on the configured event store (retried if it lost a schema-creation race)."""
    return retry_schema_race(lambda: cls(env=settings.eventstore_env()), (PersistenceError, psycopg.Error))


def pantau() -> ServingApplication:
    """This process's application for the current Flask app."""
    return per_process("pantau", lambda settings: build_application(settings, ServingApplication))  # type: ignore[return-value]


def status_cache() -> StatusCache:
    """This process's committee status facts (server/status_cache.py)."""

    def build(_: Settings) -> StatusCache:
        watch = pantau().account_watch
        if isinstance(watch, AccountListener):
            return StatusCache(watch.vouchers.readmodels_stamp)
        return StatusCache(readmodels().commit_count)

    return per_process("pantau.status_cache", build)
