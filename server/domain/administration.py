"""Account and committee administration by KPU staff, and a person's own password.

A mixin of the application service, kept apart so each module stays small.
"""

from __future__ import annotations

from typing import Any

from server.domain.account import Account
from server.domain.base import Context
from server.domain.committee import Committee
from server.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from server.domain.passwords import check_password, hash_password
from server.domain.roles import Actor, check_grant

MIN_PASSWORD_LENGTH = 8


def check_new_password(password: str) -> None:
    """Long enough to resist guessing at our hashing cost."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", "password")


def account_view(account: Account) -> dict[str, Any]:
    """What an administrator sees of an account: never a hash."""
    return {
        "username": account.username,
        "role": account.role,
        "committee": account.scope,
        "locked": account.locked,
        "language": account.language,
        "version": account.version,
        "active_tokens": len(account.tokens),
    }


class AccountAdministration:
    """Who may do what is itself history: every change here is an event with its actor."""

    repository: Any
    save: Any
    account: Any
    committee: Any

    def account_details(self, actor: Actor, username: str) -> dict[str, Any]:
        actor.check_permission("accounts:admin")
        return account_view(self.account(username))

    def grant_role(
        self, actor: Actor, username: str, role: str, committee: str | None, context: Context
    ) -> dict[str, Any]:
        """Give an account its (one) role; a held role must be revoked first so the change is explicit."""
        actor.check_permission("accounts:admin")
        account = self.account(username)
        check_grant(role, self.committee(committee).kind if committee else None)
        if account.role is not None:
            account.revoke_role(reason=f"replaced by {role}", context=context.as_event_data())
        account.grant_role(role=role, committee=committee, context=context.as_event_data())
        self.save(account)
        return account_view(account)

    def revoke_role(self, actor: Actor, username: str, reason: str, context: Context) -> dict[str, Any]:
        """Take an account's role away; its tokens stop working at once."""
        actor.check_permission("accounts:admin")
        if username.strip().lower() == actor.username.lower():
            raise PermissionDeniedError("Administrators cannot revoke their own role.")
        account = self.account(username)
        account.revoke_role(reason=reason, context=context.as_event_data())
        self.save(account)
        return account_view(account)

    def set_locked(self, actor: Actor, username: str, locked: bool, reason: str, context: Context) -> dict[str, Any]:
        """Lock (ending every session) or unlock an account."""
        actor.check_permission("accounts:admin")
        account = self.account(username)
        if locked:
            account.lock(reason=reason, until=None, context=context.as_event_data())
        else:
            account.unlock(reason=reason, context=context.as_event_data())
        self.save(account)
        return account_view(account)

    def change_own_password(self, actor: Actor, current: str, new: str, context: Context) -> None:
        """A person changes their password; every session, this one included, ends."""
        account = self.account(actor.username)
        if not check_password(account.password_hash, current):
            raise PermissionDeniedError("The current password is wrong.")
        check_new_password(new)
        account.change_password(password_hash=hash_password(new), context=context.as_event_data())
        self.save(account)

    def appoint_member(
        self, actor: Actor, code: str, member_id: str, name: str, position: str, context: Context
    ) -> dict[str, Any]:
        """Record a committee member's appointment."""
        actor.check_permission("committees:admin")
        committee: Committee = self.committee(code)
        committee.appoint_member(member_id=member_id, name=name, position=position, context=context.as_event_data())
        self.save(committee)
        return {"code": committee.code, "members": committee.members, "version": committee.version}

    def remove_member(self, actor: Actor, code: str, member_id: str, reason: str, context: Context) -> dict[str, Any]:
        """Record a committee member's removal."""
        actor.check_permission("committees:admin")
        committee: Committee = self.committee(code)
        if member_id not in committee.members:
            raise NotFoundError(f"Committee {code} has no member {member_id}.")
        committee.remove_member(member_id=member_id, reason=reason, context=context.as_event_data())
        self.save(committee)
        return {"code": committee.code, "members": committee.members, "version": committee.version}
