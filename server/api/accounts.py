"""Administration by KPU staff (accounts, committee members) and a person's own password."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from server.api.http import doc, json_body, load
from server.auth import current_actor, requires
from server.domain.base import Context
from server.schemas import (
    AccountCreateSchema,
    AccountSchema,
    CommitteeMembersSchema,
    GrantRoleSchema,
    MemberSchema,
    PasswordChangeSchema,
    ReasonSchema,
)
from server.services import pantau

bp = Blueprint("accounts", __name__, url_prefix="/api/v1")
ADMIN_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)


def admin_context() -> Context:
    actor = current_actor()
    return Context(actor=actor.username, role=actor.role)


@bp.post("/accounts")
@requires("accounts:admin")
@doc(
    "Create an account with one role", body=AccountCreateSchema, response=AccountSchema, status=201, errors=ADMIN_ERRORS
)
def create_account() -> Response:
    loaded = load(AccountCreateSchema, json_body())
    application = pantau()
    application.create_account(
        loaded["username"], loaded["password"], loaded["role"], loaded["committee"], admin_context(), loaded["language"]
    )
    response = jsonify(application.account_details(current_actor(), loaded["username"]))
    response.status_code = 201
    return response


@bp.get("/accounts/<username>")
@requires("accounts:admin")
@doc("An account's role, scope and state", response=AccountSchema, errors=(401, 403, 404))
def get_account(username: str) -> Response:
    return jsonify(pantau().account_details(current_actor(), username))


@bp.post("/accounts/<username>/role")
@requires("accounts:admin")
@doc("Grant a role (replacing the one held)", body=GrantRoleSchema, response=AccountSchema, errors=ADMIN_ERRORS)
def grant_role(username: str) -> Response:
    loaded = load(GrantRoleSchema, json_body())
    return jsonify(pantau().grant_role(current_actor(), username, loaded["role"], loaded["committee"], admin_context()))


@bp.post("/accounts/<username>/revoke-role")
@requires("accounts:admin")
@doc(
    "Revoke the account's role; its tokens stop working", body=ReasonSchema, response=AccountSchema, errors=ADMIN_ERRORS
)
def revoke_role(username: str) -> Response:
    loaded = load(ReasonSchema, json_body())
    return jsonify(pantau().revoke_role(current_actor(), username, loaded["reason"], admin_context()))


@bp.post("/accounts/<username>/lock")
@requires("accounts:admin")
@doc("Lock an account; its tokens stop working", body=ReasonSchema, response=AccountSchema, errors=ADMIN_ERRORS)
def lock_account(username: str) -> Response:
    loaded = load(ReasonSchema, json_body())
    return jsonify(pantau().set_locked(current_actor(), username, True, loaded["reason"], admin_context()))


@bp.post("/accounts/<username>/unlock")
@requires("accounts:admin")
@doc("Unlock an account", body=ReasonSchema, response=AccountSchema, errors=ADMIN_ERRORS)
def unlock_account(username: str) -> Response:
    loaded = load(ReasonSchema, json_body())
    return jsonify(pantau().set_locked(current_actor(), username, False, loaded["reason"], admin_context()))


@bp.post("/me/password")
@requires("session:own")
@doc("Change your own password; every session ends", body=PasswordChangeSchema, status=204, errors=ADMIN_ERRORS)
def change_password() -> Response:
    loaded = load(PasswordChangeSchema, json_body())
    pantau().change_own_password(current_actor(), loaded["current_password"], loaded["new_password"], admin_context())
    return Response(status=204)


@bp.post("/committees/<code>/members")
@requires("committees:admin")
@doc("Appoint a committee member", body=MemberSchema, response=CommitteeMembersSchema, status=201, errors=ADMIN_ERRORS)
def appoint_member(code: str) -> Response:
    loaded = load(MemberSchema, json_body())
    result = pantau().appoint_member(
        current_actor(), code, loaded["member_id"], loaded["name"], loaded["position"], admin_context()
    )
    response = jsonify(result)
    response.status_code = 201
    return response


@bp.post("/committees/<code>/members/<member_id>/remove")
@requires("committees:admin")
@doc("Remove a committee member", body=ReasonSchema, response=CommitteeMembersSchema, errors=ADMIN_ERRORS)
def remove_member(code: str, member_id: str) -> Response:
    loaded = load(ReasonSchema, json_body())
    return jsonify(pantau().remove_member(current_actor(), code, member_id, loaded["reason"], admin_context()))
