"""Committees the caller may see."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from projections.views.committees import list_committees
from server.api.http import doc
from server.api.status import CommitteeDetailSchema, CommitteeQuerySchema, committee_status_body
from server.auth import current_actor, requires
from server.domain.roles import CITYWIDE_ROLES
from server.readmodels import readmodels
from server.schemas import CommitteeListSchema
from server.services import pantau

bp = Blueprint("committees", __name__, url_prefix="/api/v1")


@bp.get("/committees")
@requires("committee:read")
@doc("Committees in the caller's scope", response=CommitteeListSchema, errors=(401, 403))
def list_all() -> Response:
    actor = current_actor()
    with readmodels().transaction() as cur:
        items = list_committees(cur, actor.scope, actor.role in CITYWIDE_ROLES)
    return jsonify(items=items)


@bp.get("/committees/<code>")
@requires("committee:read")
@doc(
    "One committee and its status (a PPK: roll-up); as_of answers as it stood then",
    response=CommitteeDetailSchema,
    query=CommitteeQuerySchema,
    errors=(401, 403, 404, 422, 503),
)
def get_one(code: str) -> Response:
    committee = pantau().committee_entry(code)
    current_actor().check_committee(committee["code"], committee["parent"])
    return jsonify(**committee, **committee_status_body(committee["code"], committee["kind"]))
