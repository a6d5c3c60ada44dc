"""Tokens: log in with a password, see who you are, log out."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, g, jsonify

from server.api.http import doc, json_body, load
from server.auth import current_actor, public, requires
from server.domain.base import Context
from server.domain.errors import PermissionDeniedError
from server.problems import Unauthenticated
from server.schemas import MeSchema, TokenRequestSchema, TokenSchema
from server.services import pantau

bp = Blueprint("session", __name__, url_prefix="/api/v1")


@bp.post("/auth/token")
@public
@doc("Exchange a username and password for a bearer token", body=TokenRequestSchema, response=TokenSchema, status=201, errors=(400, 401, 413, 415, 422))
def issue_token() -> Response:
    loaded = load(TokenRequestSchema(), json_body())
    ttl = timedelta(hours=current_app.extensions["pantau.settings"].token_ttl_hours)
    try:
        issued = pantau().issue_token(loaded["username"], loaded["password"], ttl, Context(actor=loaded["username"], role="none"))
    except PermissionDeniedError as error:
        raise Unauthenticated(str(error)) from None
    response = jsonify(
        token=issued.token,
        expires_at=issued.expires_at.isoformat(),
        username=issued.actor.username,
        role=issued.actor.role,
        committee=issued.actor.scope,
    )
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/me")
@requires("session:own")
@doc("The signed-in account", response=MeSchema, errors=(401,))
def me() -> Response:
    actor = current_actor()
    return jsonify(username=actor.username, role=actor.role, committee=actor.scope, language=actor.language)


@bp.delete("/auth/token")
@requires("session:own")
@doc("Log out: revoke the token this request carries", status=204, errors=(401,))
def revoke_token() -> Response:
    pantau().revoke_token(current_actor(), g.token)
    return Response(status=204)
