"""A dispute's case file as a ZIP, for legal staff (README, "Case files")."""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, Response

from server.api.http import doc
from server.api.ledger import ledger
from server.attachments.service import blob_store
from server.auth import current_actor, requires
from server.casefile.builder import export_case
from server.services import pantau

bp = Blueprint("casefile", __name__, url_prefix="/api/v1")


@bp.get("/disputes/<uuid:record_id>/case-file")
@requires("dispute:export")
@doc("A dispute's case file: events, Merkle proofs, signed checkpoint, attachments, report.html and verify.py",
     content="application/zip", errors=(401, 403, 404, 409))
def case_file(record_id: UUID) -> Response:
    case = export_case(pantau(), ledger(), blob_store(), current_actor(), record_id)
    response = Response(case.data, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{case.filename}"'
    response.headers["Cache-Control"] = "no-store"  # personal data: no shared cache may keep a copy
    return response
