"""Accounts: who could do what, when, is itself history."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from server.domain.base import PantauAggregate, derived_id
from server.domain.errors import PermissionDeniedError, TransitionNotAllowedError

# Password guessing: this many wrong passwords within the window suspend password login for LOGIN_LOCK.
# Existing sessions stay valid, so a stranger typing wrong passwords cannot log an officer out.
MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_LOCK = timedelta(minutes=15)


class LoginLockedError(PermissionDeniedError):
    """Password login is suspended until a moment; says when, so the person knows how long to wait."""

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(f"Too many failed logins: password login is suspended until {until.isoformat()}.")
        self.until = until
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))


def account_id(username: str) -> UUID:
    """Usernames are case-insensitive natural keys, so a duplicate collides on save."""
    return derived_id("account", username.strip().lower())


class Account(PantauAggregate):
    """A person's login, role and tokens."""

    # Class-level defaults: accounts (and snapshots) from before login throttling have neither attribute.
    failed_logins: tuple[str, ...] = ()  # ISO times of recent wrong passwords, at most MAX_FAILED_LOGINS
    login_locked_until: str | None = None

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
        # An administrator's unlock also lifts a suspension for failed logins.
        self.login_locked_until = None
        self.failed_logins = ()

    class LoginFailed(PantauAggregate.Event):
        at: str  # the application clock's time, which the lockout policy counts with

    class LoginLocked(PantauAggregate.Event):
        until: str
        reason: str

    def check_login_allowed(self, now: datetime) -> None:
        """Refuse a password login while it is suspended; an expired suspension needs no event to end."""
        if self.login_locked_until is not None:
            until = datetime.fromisoformat(self.login_locked_until)
            if until > now:
                raise LoginLockedError(until, now)

    def record_failed_login(self, now: datetime, context: dict[str, Any]) -> None:
        """Count a wrong password; too many within the window suspend password login."""
        self._login_failed(at=now.isoformat(), context=context)
        recent = [t for t in self.failed_logins if datetime.fromisoformat(t) > now - FAILED_LOGIN_WINDOW]
        if len(recent) >= MAX_FAILED_LOGINS:
            until = (now + LOGIN_LOCK).isoformat()
            self._lock_login(until=until, reason="too many failed logins", context=context)

    @event(LoginFailed)
    def _login_failed(self, at: str, context: dict[str, Any]) -> None:
        self.failed_logins = (*self.failed_logins, at)[-MAX_FAILED_LOGINS:]

    @event(LoginLocked)
    def _lock_login(self, until: str, reason: str, context: dict[str, Any]) -> None:
        self.login_locked_until = until
        self.failed_logins = ()

    class TokenIssued(PantauAggregate.Event):
        token_hash: str
        expires_at: str

    @event(TokenIssued)
    def issue_token(self, token_hash: str, expires_at: str, context: dict[str, Any]) -> None:
        self.tokens[token_hash] = expires_at
        # The right password ends a run of wrong ones.
        self.failed_logins = ()

    class TokenRevoked(PantauAggregate.Event):
        token_hash: str

    def revoke_token(self, token_hash: str, context: dict[str, Any]) -> None:
        if token_hash not in self.tokens:
            raise TransitionNotAllowedError("This token is not active.")
        self._revoke_token(token_hash=token_hash, context=context)

    @event(TokenRevoked)
    def _revoke_token(self, token_hash: str, context: dict[str, Any]) -> None:
        self.tokens.pop(token_hash, None)
