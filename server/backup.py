"""`pantau backup` and `pantau restore`: one archive per SQLite instance; pg_dump for PostgreSQL.

SQLite: every database of the instance folder is copied with SQLite's online backup API (one step, so each
copy is a consistent snapshot while the server keeps writing), into a gzipped tar with a manifest of sizes,
SHA-256 digests and the event store's event count and last position.

Order matters. Read models, the ledger and push state record how far into the log they are; restored
beside a log that ends earlier, they would skip the events written after it. So the derived databases
are copied first and the event log last: the log always reaches at least as far as anything derived from
it, and the worker catches up the rest after a restore. Attachments are copied after the log, so every
blob an archived event names is in the archive.

Key files (ledger signing and salt keys, VAPID key) are left out unless asked for: an archive that holds
them must be kept as secret as the keys (README, "Key management").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from server.config import Settings

FORMAT = "pantau-backup/1"
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments"


class BackupError(Exception):
    """The backup or restore cannot be done safely; nothing was overwritten."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _online_copy(source: Path, target: Path) -> None:
    """A consistent snapshot of a live SQLite database (WAL readers do not block the writers)."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # all pages in one step: a restarted multi-step copy could never finish under load
    finally:
        dst.close()
        src.close()


def _event_range(event_store: Path) -> tuple[int, int]:
    """(number of events, last position) of an event store file, read without decrypting anything."""
    conn = sqlite3.connect(event_store)
    try:
        count, last = conn.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()
    finally:
        conn.close()
    return int(count), int(last)


def _other_files(instance: Path, include_keys: bool) -> list[Path]:
    """Attachments always; the instance folder's other top-level files (keys) only when asked."""
    found = sorted(p for p in (instance / ATTACHMENTS).rglob("*") if p.is_file())
    if include_keys:
        skipped = (".sqlite3", "-wal", "-shm", ".writer")  # the databases (copied above), the writers' lock file
        found += sorted(p for p in instance.iterdir() if p.is_file() and not p.name.endswith(skipped))
    return found


def backup_sqlite(settings: Settings, output: Path, include_keys: bool = False) -> dict[str, Any]:
    """Write the instance's archive to `output` (atomically); returns its manifest."""
    instance = settings.instance_path
    if not settings.sqlite_path.exists():
        raise BackupError(f"No event store at {settings.sqlite_path}.")
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".pantau-backup-") as tmp:
        staging = Path(tmp)
        derived = sorted(p for p in instance.glob("*.sqlite3") if p != settings.sqlite_path)
        names: list[str] = []
        for database in [*derived, settings.sqlite_path]:  # the log last: see the module docstring
            _online_copy(database, staging / database.name)
            names.append(database.name)
        events, last_position = _event_range(staging / settings.sqlite_path.name)
        for path in _other_files(instance, include_keys):
            relative = path.relative_to(instance).as_posix()
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, staging / relative)
            names.append(relative)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "backend": "sqlite",
            "event_store": settings.sqlite_path.name,
            "events": events,
            "last_position": last_position,
            "keys_included": include_keys,
            "files": [
                {"name": name, "size": (staging / name).stat().st_size, "sha256": _sha256(staging / name)}
                for name in names
            ],
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
        partial = staging / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(staging / MANIFEST, arcname=MANIFEST)
            for name in names:
                tar.add(staging / name, arcname=name)
        os.replace(partial, output)
    return manifest


def read_manifest(archive: Path) -> dict[str, Any]:
    """The manifest of an archive, checked for its format."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            manifest = json.load(member) if member else None
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as error:
        raise BackupError(f"{archive} is not a Pantau backup: {type(error).__name__}.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a {FORMAT} archive.")
    return manifest


def restore_sqlite(settings: Settings, archive: Path, force: bool = False) -> dict[str, Any]:
    """Restore an archive into the instance folder, which must be empty unless `force`; returns the manifest."""
    instance = settings.instance_path
    if instance.exists() and any(instance.iterdir()) and not force:
        raise BackupError(f"{instance} is not empty; restore into a fresh instance, or pass --force to overwrite it.")
    manifest = read_manifest(archive)
    instance.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=instance.parent, prefix=".pantau-restore-") as tmp:
        staging = Path(tmp)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(staging, filter="data")  # refuses absolute paths, links out, devices
        # Everything is checked before anything in the instance is touched.
        for entry in manifest["files"]:
            staged = staging / entry["name"]
            if not staged.is_file() or staged.stat().st_size != entry["size"] or _sha256(staged) != entry["sha256"]:
                raise BackupError(f"{entry['name']} in {archive} does not match its manifest; nothing was restored.")
        if _event_range(staging / manifest["event_store"]) != (manifest["events"], manifest["last_position"]):
            raise BackupError("The archived event store does not hold the events its manifest names.")
        # Derived stores left beside the restored log could claim positions it does not have.
        for stale in instance.glob("*.sqlite3*"):
            stale.unlink()
        for entry in manifest["files"]:
            target = instance / entry["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / entry["name"], target)
    return manifest


# --- PostgreSQL -------------------------------------------------------------------------------


def pg_environment(database_url: str) -> dict[str, str]:
    """libpq's variables for a URL: the password never appears on a command line (visible in ps)."""
    url = urlparse(database_url)
    env = {"PGHOST": url.hostname or "127.0.0.1", "PGPORT": str(url.port or 5432), "PGDATABASE": url.path.lstrip("/")}
    if url.username:
        env["PGUSER"] = unquote(url.username)
    if url.password:
        env["PGPASSWORD"] = unquote(url.password)
    return env


def pg_dump_command(output: Path) -> list[str]:
    """One consistent snapshot of events, read models and ledger (they share the database)."""
    return ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={output}"]


def backup_postgres(settings: Settings, output: Path) -> list[str]:
    """Run pg_dump if it is installed; otherwise say exactly what to run. Returns lines to print."""
    assert settings.database_url is not None
    command = pg_dump_command(output)
    shown = " ".join(command) + ' --dbname="$DATABASE_URL"'
    lines = [f"PostgreSQL: {shown}"]
    if shutil.which("pg_dump") is None:
        raise BackupError(f"pg_dump is not installed here; run on a machine with PostgreSQL's client tools:\n  {shown}")
    env = {**os.environ, **pg_environment(settings.database_url)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    lines.append(f"Wrote {output} ({output.stat().st_size} bytes).")
    lines.append(
        f"Also back up {settings.instance_path / ATTACHMENTS} (attachments) and, separately, the keys. "
        'Restore into an empty database with: pg_restore --no-owner --dbname="$DATABASE_URL" ' + str(output)
    )
    return lines
