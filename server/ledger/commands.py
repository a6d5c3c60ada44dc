"""`pantau ledger ...`: sign a checkpoint now, or verify the whole log against the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

from server.ledger.service import Ledger, open_ledger
from server.services import pantau


@contextmanager
def _opened() -> Iterator[Ledger]:
    opened = open_ledger(current_app.extensions["pantau.settings"], pantau())
    try:
        yield opened
    finally:
        opened.close()


@click.group("ledger")
def ledger() -> None:
    """The verifiable log: signed checkpoints and verification."""


@ledger.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Hash any new events into the log and sign a checkpoint now; prints the signed note."""
    with _opened() as opened:
        signed = opened.follower.checkpoint_now()
        click.echo(signed.note, nl=False)
        click.echo(f"Verifier key: {opened.verifier_key}")


@ledger.command("verify")
@with_appcontext
def verify_command() -> None:
    """Recompute every leaf from the event store; check the ledger and every checkpoint. Exit 1 on any mismatch."""
    with _opened() as opened:
        report = opened.verify()
    click.echo(
        f"Event store: {report.events} events; ledger: {report.leaves} leaves; "
        f"{report.checkpoints} signed checkpoints checked."
    )
    if report.events > report.leaves:
        click.echo(f"{report.events - report.leaves} newest events are not in the ledger yet (the worker adds them).")
    if report.ok:
        click.echo("OK: every event matches its leaf, every checkpoint its root and signature.")
        return
    click.echo("FAILED:")
    for finding in report.findings:
        click.echo(f"  {finding.message}")
    if report.first_bad_position is not None:
        click.echo(f"First position that does not match: {report.first_bad_position}")
    raise click.exceptions.Exit(1)
