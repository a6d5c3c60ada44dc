"""Accounts: who could do what, when, is itself history."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate, derived_id
from server.domain.errors import TransitionNotAllowedError


def account_id(username: str) -> UUID:
    """Usernames are case-insensitive natural keys, so a duplicate collides on save."""
    return derived_id("account", username.strip().lower())


class Account(PantauAggregate):
    """A person's login, role and tokens."""

    class Created(PantauAggregate.Created):
        username: str
        password_hash: str
        language: str

    @event(Created)
    def __init__(self, username: str, password_hash: str, language: str, context: dict[str, Any]) -> None:
        self.username = username
        self.password_hash = password_hash
        self.language = language
        self.role: str | None = None
        self.scope: str | None = None
        self.locked = False
        # token hash -> expiry (ISO time); only hashes are ever stored.
        self.tokens: dict[str, str] = {}

    @staticmethod
    def create_id(username: str, **_: Any) -> UUID:
        return account_id(username)

    class RoleGranted(PantauAggregate.Event):
        role: str
        committee: str | None

    @event(RoleGranted)
    def grant_role(self, role: str, committee: str | None, context: dict[str, Any]) -> None:
        self.role = role
        self.scope = committee

    class RoleRevoked(PantauAggregate.Event):
        reason: str

    def revoke_role(self, reason: str, context: dict[str, Any]) -> None:
        if self.role is None:
            raise TransitionNotAllowedError(f"{self.username} holds no role to revoke.")
        self._revoke_role(reason=reason, context=context)

    @event(RoleRevoked)
    def _revoke_role(self, reason: str, context: dict[str, Any]) -> None:
        self.role = None
        self.scope = None
        self.tokens = {}

    class PasswordChanged(PantauAggregate.Event):
        password_hash: str

    @event(PasswordChanged)
    def change_password(self, password_hash: str, context: dict[str, Any]) -> None:
        self.password_hash = password_hash
        # A new password ends every session opened with the old one.
        self.tokens = {}

    class Locked(PantauAggregate.Event):
        reason: str
        until: str | None

    @event(Locked)
    def lock(self, reason: str, until: str | None, context: dict[str, Any]) -> None:
        self.locked = True
        self.locked_until = until
        self.tokens = {}

    class Unlocked(PantauAggregate.Event):
        reason: str

    @event(Unlocked)
    def unlock(self, reason: str, context: dict[str, Any]) -> None:
        self.locked = False
        self.locked_until = None

    class TokenIssued(PantauAggregate.Event):
        token_hash: str
        expires_at: str

    @event(TokenIssued)
    def issue_token(self, token_hash: str, expires_at: str, context: dict[str, Any]) -> None:
        self.tokens[token_hash] = expires_at

    class TokenRevoked(PantauAggregate.Event):
        token_hash: str

    def revoke_token(self, token_hash: str, context: dict[str, Any]) -> None:
        if token_hash not in self.tokens:
            raise TransitionNotAllowedError("This token is not active.")
        self._revoke_token(token_hash=token_hash, context=context)

    @event(TokenRevoked)
    def _revoke_token(self, token_hash: str, context: dict[str, Any]) -> None:
        self.tokens.pop(token_hash, None)
