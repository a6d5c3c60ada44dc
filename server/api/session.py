"""Tokens: log in with a password, see who you are, log out."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, g, jsonify, request

from server.api.http import doc, json_body, load
from server.auth import current_actor, public, requires
from server.domain.account import LoginLockedError
from server.domain.base import Context
from server.domain.errors import PermissionDeniedError
from server.login_throttle import address_throttle
from server.problems import Unauthenticated, problem
from server.schemas import MeSchema, TokenRequestSchema, TokenSchema
from server.services import pantau

bp = Blueprint("session", __name__, url_prefix="/api/v1")


@bp.post("/auth/token")
@public
@doc(
    "Exchange a username and password for a bearer token",
    body=TokenRequestSchema,
    response=TokenSchema,
    status=201,
    errors=(400, 401, 413, 415, 422, 429),
)
def issue_token() -> Response:
    loaded = load(TokenRequestSchema, json_body())
    ttl = timedelta(hours=current_app.extensions["pantau.settings"].token_ttl_hours)
    # Behind a proxy this is the client only if PANTAU_TRUSTED_PROXIES says how many proxies to trust.
    address = request.remote_addr or "unknown"
    throttle = address_throttle()
    wait = throttle.retry_after(address)
    if wait is not None:
        return too_many_requests("Too many failed logins from this address; try again later.", wait)
    try:
        issued = pantau().issue_token(
            loaded["username"], loaded["password"], ttl, Context(actor=loaded["username"], role="none")
        )
    except LoginLockedError as error:
        throttle.failed(address)
        return too_many_requests(str(error), error.retry_after, locked_until=error.until.isoformat())
    except PermissionDeniedError as error:
        throttle.failed(address)
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


def too_many_requests(detail: str, retry_after: int, **extra: str) -> Response:
    """429 with the seconds to wait, for the phone app to show and to schedule its retry."""
    response = problem(429, "Too Many Requests", detail, **extra)
    response.headers["Retry-After"] = str(retry_after)
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
