"""The `pantau` command: import committees, manage users, run the demo and the projection worker."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from server.app import create_app
from server.casefile.commands import export as export_commands
from server.cipher import keys_commands
from server.domain.base import SYSTEM
from server.domain.errors import DomainError
from server.domain.roles import ROLES
from server.ledger.commands import ledger as ledger_commands
from server.push.commands import push as push_commands
from server.services import pantau


@click.group(cls=FlaskGroup, create_app=create_app, add_default_commands=False)
def cli() -> None:
    """Pantau: event-sourced field reporting for KPU committees."""


@cli.group()
def committees() -> None:
    """Committee reference data."""


@committees.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_committees_command(csv_file: Path) -> None:
    """Register the PPK and PPS in CSV_FILE (re-running is safe)."""
    from server.demo import import_committees

    try:
        new, existing = import_committees(pantau(), csv_file)
    except (ValueError, DomainError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{new} committees registered, {existing} already present.")


@cli.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--committee", default=None, help="Area code (PPS for pps_officer, PPK for ppk_officer).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
@click.option("--language", default="id", type=click.Choice(("id", "en")))
@with_appcontext
def create_user(username: str, role: str, committee: str | None, password_stdin: bool, language: str) -> None:
    """Create an account with one role."""
    password = sys.stdin.readline().rstrip("\n")
    try:
        pantau().create_account(username, password, role, committee, SYSTEM, language=language)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Account {username} created with role {role}" + (f" for {committee}." if committee else "."))


@cli.group()
def projections() -> None:
    """Read models."""


@projections.command("run")
@with_appcontext
def run_projections() -> None:
    """Follow the event log and keep every read model current (the Procfile's worker)."""
    from server.worker_process import run_until_signalled

    run_until_signalled(current_app.extensions["pantau.settings"])


@projections.command("rebuild")
@click.argument("name", required=False)
@with_appcontext
def rebuild_projections(name: str | None) -> None:
    """Drop and replay one read model (NAME) or all of them from the start of the log."""
    from projections.rebuild import rebuild
    from server.worker_process import build_worker

    worker = build_worker(current_app.extensions["pantau.settings"])
    known = [view.name for view in worker.views]
    if name is not None and name not in known:
        raise click.ClickException(f"No read model {name}; one of {', '.join(known)}.")
    names = [name] if name else known
    with click.progressbar(length=worker.log_end(), label=f"Rebuilding {', '.join(names)}") as bar:
        applied = rebuild(worker, names, bar.update)
    click.echo(f"{applied} events applied; positions {worker.positions()}.")


@cli.command("replay")
@click.option("--until", "until", required=True, help="ISO 8601 time with offset, or a log position.")
@click.option("--committee", default=None, help="A PPS, or a PPK and its PPS (default: the whole city).")
@with_appcontext
def replay(until: str, committee: str | None) -> None:
    """Print the timeline up to a moment, then the status as it stood then."""
    import json
    from datetime import datetime

    from projections.read import AlertRules
    from projections.timeline import events, line, replay_until, standing
    from projections.worker import create_schema, default_views
    from server.readmodels import readmodel_database

    settings = current_app.extensions["pantau.settings"]
    try:
        moment: int | datetime = int(until) if until.isdigit() else datetime.fromisoformat(until)
        kind = pantau().committee(committee).kind if committee else None
    except (ValueError, DomainError) as error:
        raise click.ClickException(str(error)) from None
    if isinstance(moment, datetime) and moment.tzinfo is None:
        raise click.ClickException("--until needs an offset, e.g. 2024-11-26T23:00+07:00.")
    db = readmodel_database(settings)
    create_schema(db, default_views())
    snapshot = replay_until(pantau(), db, moment, committee)
    try:
        for row in events(snapshot):
            click.echo(line(row))
        rules = AlertRules(settings.alert_no_visit_days, settings.alert_correction_wait_days)
        click.echo(f"-- as of position {snapshot.position} ({snapshot.at.isoformat()}):")
        click.echo(json.dumps(standing(snapshot, committee, kind, rules), ensure_ascii=False, indent=2))
    finally:
        snapshot.close()


@cli.command("demo")
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@with_appcontext
def demo(bind: str) -> None:
    """Set up the demo (committees, one account per role) and serve it with its worker until stopped."""
    from server.demo import ensure_demo_accounts, import_committees
    from server.worker_process import install_stop_signals, run_worker

    settings = current_app.extensions["pantau.settings"]
    application = pantau()
    new, existing = import_committees(application)
    accounts = ensure_demo_accounts(application)
    click.echo(f"Database: {settings.database_url or settings.sqlite_path}")
    click.echo(f"Committees: {new} new, {existing} already present.")
    click.echo("Demo accounts (username / password / role / committee):")
    for username, role, committee, password in accounts:
        click.echo(f"  {username:16} {password:16} {role:12} {committee or '-'}")
    env = dict(os.environ, PANTAU_BIND=bind, PANTAU_INSTANCE_PATH=str(settings.instance_path))
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", "server.app:create_app()"], env=env
    )
    stop = install_stop_signals()
    click.echo(f"Serving http://{bind}/ (API at /api/v1, health at /healthz). Ctrl-C stops.")
    web_died = threading.Event()

    def web_gone() -> bool:
        if web.poll() is not None:
            web_died.set()
        return web_died.is_set()

    try:
        run_worker(settings, stop, extra_stop=web_gone)
    finally:
        web.terminate()
        web.wait(timeout=15)
    if web_died.is_set():
        raise click.ClickException(f"gunicorn exited with status {web.returncode}")


@cli.command("backup")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Archive path.")
@click.option("--include-keys", is_flag=True, help="Also archive the instance's key files: keep the archive secret.")
@with_appcontext
def backup_command(output: Path, include_keys: bool) -> None:
    """Back up a running instance: SQLite into one archive, PostgreSQL with pg_dump (README, "Operations")."""
    from server.backup import BackupError, backup_postgres, backup_sqlite

    settings = current_app.extensions["pantau.settings"]
    try:
        if settings.uses_postgres:
            for line in backup_postgres(settings, output):
                click.echo(line)
            return
        manifest = backup_sqlite(settings, output, include_keys)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {output}: {manifest['events']} events up to position {manifest['last_position']}, "
               f"{len(manifest['files'])} files" + (", keys included." if include_keys else "; keys not included."))


@cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite a non-empty instance folder.")
@with_appcontext
def restore_command(archive: Path, force: bool) -> None:
    """Restore a `pantau backup` archive into this (stopped, empty) SQLite instance; then run the worker."""
    from server.backup import BackupError, restore_sqlite

    settings = current_app.extensions["pantau.settings"]
    if settings.uses_postgres:
        raise click.ClickException('PostgreSQL: pg_restore --no-owner --dbname="$DATABASE_URL" ' + str(archive))
    try:
        manifest = restore_sqlite(settings, archive, force)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {manifest['events']} events up to position {manifest['last_position']} "
               f"into {settings.instance_path}. The worker brings the read models up to date.")


cli.add_command(ledger_commands)
cli.add_command(export_commands)
cli.add_command(keys_commands)
cli.add_command(push_commands)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pantau")
