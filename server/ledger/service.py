"""Assembling the ledger from configuration: its database, keys, follower, proofs and verifier."""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.application import Application

from projections.db import Database
from server.config import Settings
from server.ledger import keys
from server.ledger.leaf import LeafMaker
from server.ledger.log import CheckpointPolicy, LedgerFollower, Signer
from server.ledger.proofs import LedgerProofs
from server.ledger.store import LedgerStore
from server.ledger.verify import VerificationReport, verify_ledger


def ledger_database(settings: Settings) -> Database:
    """The ledger's own SQLite file, or the event store's PostgreSQL database (tables prefixed `ledger_`)."""
    if settings.uses_postgres:
        return Database(postgres_url=settings.database_url)
    return Database(sqlite_path=settings.ledger_sqlite_path)


@dataclass
class Ledger:
    """Everything one process needs to follow, prove and verify the log."""

    store: LedgerStore
    follower: LedgerFollower
    proofs: LedgerProofs
    maker: LeafMaker
    signer: Signer

    @property
    def origin(self) -> str:
        return self.signer.origin

    @property
    def verifier_key(self) -> str:
        return self.signer.verifier_key

    def verify(self) -> VerificationReport:
        """Recompute every leaf from the event store and check it against the ledger and its checkpoints."""
        return verify_ledger(self.follower.source, self.store, self.maker, self.verifier_key, self.origin)

    def close(self) -> None:
        self.store.db.close()


def open_ledger(settings: Settings, application: Application) -> Ledger:
    """The ledger over this application's event store; keys are generated only for a still-empty ledger."""
    store = LedgerStore(ledger_database(settings))
    try:
        store.create_tables()
        empty = store.size() == 0
        mapper = application.mapper
        maker = LeafMaker(keys.salt_key(settings, create=empty), mapper.cipher, mapper.compressor)
        signer = Signer(settings.ledger_origin, keys.signing_key(settings, create=empty))
    except BaseException:
        store.db.close()
        raise
    recorder = application.recorder
    policy = CheckpointPolicy(settings.ledger_checkpoint_every, settings.ledger_checkpoint_minutes)
    follower = LedgerFollower(recorder, store, maker, signer, policy)  # type: ignore[arg-type]
    return Ledger(store, follower, LedgerProofs(recorder, store, maker), maker, signer)  # type: ignore[arg-type]
