"""One source of configuration: defaults, then the instance folder, then PANTAU_* / DATABASE_URL."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class Settings:
    """Everything the application and the worker need to find their data."""

    instance_path: Path
    database_url: str | None = None
    token_ttl_hours: int = 12
    max_body_bytes: int = 1024 * 1024
    extra_env: dict[str, str] = field(default_factory=dict)

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
                "POSTGRES_PRE_PING": "y",
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
        env.update(self.extra_env)
        return env


def load_settings(instance_path: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (tests) winning."""
    path = Path(instance_path or os.environ.get("PANTAU_INSTANCE_PATH") or Path.cwd() / "instance")
    values: dict[str, object] = {
        "instance_path": path.resolve(),
        "database_url": os.environ.get("DATABASE_URL") or None,
        "token_ttl_hours": int(os.environ.get("PANTAU_TOKEN_TTL_HOURS", "12")),
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
