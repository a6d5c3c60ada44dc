"""`pantau export case DISPUTE_ID -o FILE.zip`: a dispute's case file from the command line."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import click
from flask import current_app
from flask.cli import with_appcontext

from server.attachments.service import blob_store
from server.casefile.builder import export_case
from server.domain.errors import DomainError
from server.domain.roles import Actor
from server.ledger.service import open_ledger
from server.services import pantau

# The roles that may read disputes; the role decides what the case file withholds (an auditor's lacks NIKs).
EXPORT_ROLES = ("legal", "auditor", "kpu_admin")


@click.group("export")
def export() -> None:
    """Evidence exports."""


@export.command("case")
@click.argument("dispute_id", type=click.UUID)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="ZIP to write.")
@click.option("--role", default="legal", show_default=True, type=click.Choice(EXPORT_ROLES),
              help="Whose view: auditor withholds NIK, names and submission fingerprints.")
@with_appcontext
def export_case_command(dispute_id: UUID, output: Path, role: str) -> None:
    """Write a dispute's case file: events, proofs, checkpoint, key, attachments, report.html, verify.py."""
    settings = current_app.extensions["pantau.settings"]
    actor = Actor(account_id="cli", username="cli", role=role, scope=None)
    ledger = open_ledger(settings, pantau())
    try:
        case = export_case(pantau(), ledger, blob_store(), actor, dispute_id)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    finally:
        ledger.close()
    output.write_bytes(case.data)
    for warning in case.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"Wrote {output}: {case.events} events, {case.attachments} attachments, "
               f"proven against a checkpoint of {case.tree_size} events. Check it with: python verify.py {output.name}")
