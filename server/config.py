"""One source of configuration: defaults, then the instance folder, then PANTAU_* / DATABASE_URL."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from server.cipher import cipher_env


@dataclass(frozen=True)
class Settings:
    """Everything the application and the worker need to find their data."""

    instance_path: Path
    database_url: str | None = None
    token_ttl_hours: int = 12
    max_body_bytes: int = 1024 * 1024
    # Base64 AES key: event contents are encrypted at rest when set (server/cipher.py). Kept out of repr/logs.
    cipher_key: str | None = field(default=None, repr=False)
    # Committee status alerts: no visit for more than N days; a correction waiting more than M days.
    alert_no_visit_days: int = 7
    alert_correction_wait_days: int = 3
    projection_batch_size: int = 500
    extra_env: dict[str, str] = field(default_factory=dict)
    # Failed password logins one client address may make per 15 minutes, per web process (server/login_throttle.py).
    login_address_limit: int = 30
    # Reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto to trust (0: trust none).
    trusted_proxies: int = 0
    # The verifiable log (README, "Evidence: the verifiable log"). Keys: a PEM file path or the PEM text
    # itself; unset means a key generated once into the instance folder.
    ledger_origin: str = "pantau.kpu/pangkalpinang"
    ledger_key: str | None = None
    ledger_salt_key: str | None = None
    ledger_checkpoint_every: int = 1000
    ledger_checkpoint_minutes: float = 60.0
    # Web Push (README, "Push notifications"). The VAPID key: PEM text or base64url raw; unset means a
    # key generated once into the instance folder. The subject must be a mailto: or https: URL.
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:admin@pantau.invalid"
    push_allow_local: bool = False
    push_subscription_max_days: int = 90
    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url) and self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return self.instance_path / "pantau.sqlite3"

    @property
    def readmodel_sqlite_path(self) -> Path:
        # A file of its own: read-model writes never take the event store's write lock,
        # and the library's fixed SQLite table names cannot collide.
        return self.instance_path / "readmodels.sqlite3"

    @property
    def ledger_sqlite_path(self) -> Path:
        # Not the read-model file: read models may be dropped and rebuilt, the ledger never.
        return self.instance_path / "ledger.sqlite3"

    @property
    def push_sqlite_path(self) -> Path:
        # Not the read-model file either: its outbox says what was already sent, so it must survive rebuilds.
        return self.instance_path / "push.sqlite3"

    def eventstore_env(self) -> dict[str, str]:
        """The eventsourcing library's environment for our application."""
        if self.uses_postgres:
            url = urlparse(self.database_url)
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": url.path.lstrip("/"),
                "POSTGRES_HOST": url.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(url.port or 5432),
                "POSTGRES_USER": unquote(url.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(url.password or ""),
                "POSTGRES_POOL_SIZE": "5",
                "POSTGRES_MAX_OVERFLOW": "10",
                "POSTGRES_LOCK_TIMEOUT": "5",
                # No pre-ping: psycopg_pool backs off 1 s, 2 s, 4 s... between failed checks, so after a
                # restart or failover a request waited 15-30 s (past gunicorn's timeout) for a pool of dead
                # connections. Without it a dead connection fails its query, is discarded, and the library's
                # retry (0.2 s apart) takes the next one: about a second (tests/integration/test_store_unavailable.py).
                "POSTGRES_PRE_PING": "n",
                "APPLICATION_RECORDER_TOPIC": "server.persistence:PostgresPositionRecorder",
            }
        else:
            self.instance_path.mkdir(parents=True, exist_ok=True)
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "10",
                "APPLICATION_RECORDER_TOPIC": "server.persistence:SQLitePositionRecorder",
            }
        if self.cipher_key:
            env.update(cipher_env(self.cipher_key))
        env.update(self.extra_env)
        return env


def load_settings(instance_path: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (tests) winning."""
    path = Path(instance_path or os.environ.get("PANTAU_INSTANCE_PATH") or Path.cwd() / "instance")
    values: dict[str, object] = {
        "instance_path": path.resolve(),
        "database_url": os.environ.get("DATABASE_URL") or None,
        "token_ttl_hours": int(os.environ.get("PANTAU_TOKEN_TTL_HOURS", "12")),
        "cipher_key": os.environ.get("PANTAU_CIPHER_KEY") or None,
        "login_address_limit": int(os.environ.get("PANTAU_LOGIN_ADDRESS_LIMIT", "30")),
        "trusted_proxies": int(os.environ.get("PANTAU_TRUSTED_PROXIES", "0")),
        "alert_no_visit_days": int(os.environ.get("PANTAU_ALERT_NO_VISIT_DAYS", "7")),
        "alert_correction_wait_days": int(os.environ.get("PANTAU_ALERT_CORRECTION_WAIT_DAYS", "3")),
        "projection_batch_size": int(os.environ.get("PANTAU_PROJECTION_BATCH_SIZE", "500")),
        "ledger_origin": os.environ.get("PANTAU_LEDGER_ORIGIN") or Settings.ledger_origin,
        "ledger_key": os.environ.get("PANTAU_LEDGER_KEY") or None,
        "ledger_salt_key": os.environ.get("PANTAU_LEDGER_SALT_KEY") or None,
        "ledger_checkpoint_every": int(os.environ.get("PANTAU_LEDGER_CHECKPOINT_EVERY", "1000")),
        "ledger_checkpoint_minutes": float(os.environ.get("PANTAU_LEDGER_CHECKPOINT_MINUTES", "60")),
        "vapid_private_key": os.environ.get("VAPID_PRIVATE_KEY") or None,
        "vapid_subject": os.environ.get("VAPID_SUBJECT") or Settings.vapid_subject,
        "push_allow_local": os.environ.get("PANTAU_PUSH_ALLOW_LOCAL", "").lower() in ("1", "true", "yes"),
        "push_subscription_max_days": int(os.environ.get("PANTAU_PUSH_SUBSCRIPTION_MAX_DAYS", "90")),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
