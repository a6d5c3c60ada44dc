"""Accounts and sessions: creating an account, password login with its throttle, bearer tokens.

A mixin of the application service (server/domain/application.py), kept apart so each module stays small.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from server.domain.account import Account, account_id
from server.domain.administration import check_new_password
from server.domain.base import Context
from server.domain.errors import AlreadyExistsError, ConflictError, NotFoundError, PermissionDeniedError
from server.domain.passwords import check_password, hash_password
from server.domain.roles import Actor, check_grant


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    actor: Actor


def token_hash(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to make the stored value useless."""
    return hashlib.sha256(token.encode()).hexdigest()


class SessionCommands:
    """Who may log in, and who a token belongs to, decided against the account's current events."""

    repository: Any
    save: Any
    committee: Any

    def create_account(
        self, username: str, password: str, role: str, committee: str | None, context: Context, language: str = "id"
    ) -> UUID:
        """Create an account holding one role, scoped to a committee where the role needs one."""
        committee_kind = self.committee(committee).kind if committee else None
        check_grant(role, committee_kind)
        check_new_password(password)
        data = context.as_event_data()
        account = Account(username=username, password_hash=hash_password(password), language=language, context=data)
        account.grant_role(role=role, committee=committee, context=data)
        try:
            self.save(account)
        except IntegrityError:
            raise AlreadyExistsError(f"Username {username} is taken.") from None
        return account.id

    def account(self, username: str) -> Account:
        try:
            return self.repository.get(account_id(username))
        except AggregateNotFoundError:
            raise NotFoundError(f"No account {username}.") from None

    def now(self) -> datetime:
        """The clock of the login policy and token expiry; tests replace it instead of sleeping."""
        return datetime.now(UTC)

    def issue_token(self, username: str, password: str, ttl: timedelta, context: Context) -> IssuedToken:
        """Password login: a random bearer token, of which only the hash is stored. Throttled per account."""
        now = self.now()
        try:
            account = self.account(username)
        except NotFoundError:
            # Hash anyway so an unknown username takes as long as a wrong password.
            check_password(hash_password("timing"), password)
            raise PermissionDeniedError("Unknown username or wrong password.") from None
        # While suspended the password is not even checked, so a guess cannot learn that it was right.
        account.check_login_allowed(now)
        if not check_password(account.password_hash, password):
            attempt = Context(actor="unauthenticated", role="none", device_time=context.device_time).as_event_data()
            self._change_account(username, lambda a: a.record_failed_login(now, context=attempt))
            raise PermissionDeniedError("Unknown username or wrong password.")
        if account.locked or account.role is None:
            raise PermissionDeniedError("This account is locked or holds no role.")
        token = f"{account.id.hex}.{secrets.token_urlsafe(32)}"
        expires_at = now + ttl
        login = Context(actor=account.username, role=account.role, device_time=context.device_time).as_event_data()
        expiry = expires_at.isoformat()
        account = self._change_account(
            username, lambda a: a.issue_token(token_hash=token_hash(token), expires_at=expiry, context=login)
        )
        return IssuedToken(token, expires_at, self._actor(account))

    def _change_account(self, username: str, change: Callable[[Account], None], attempts: int = 20) -> Account:
        """Load, change, save; again if another request saved the account first (two phones logging in at once).

        N requests changing one account at once need up to N tries: each round exactly one of them wins
        (the saves a process queued together are tried as one transaction, then one by one), so the
        attempts bound the concurrent changes to one account that all succeed."""
        for _ in range(attempts):
            account = self.account(username)
            change(account)
            try:
                self.save(account)
            except IntegrityError:
                continue
            return account
        raise ConflictError(f"The account {username} is changing too often right now; try again.")

    def actor_for_token(self, token: str) -> Actor:
        """The account behind a bearer token, checked against its current state on every request."""
        account_hex, _, secret = token.partition(".")
        try:
            # Read only, so the cached aggregate itself will do: it is still fast-forwarded from the store,
            # which is what makes a revocation or a lock effective at once in every process.
            account = self.repository.get(UUID(hex=account_hex), deepcopy_from_cache=False)
        except (ValueError, AggregateNotFoundError):
            raise PermissionDeniedError("Invalid token.") from None
        if not secret or not isinstance(account, Account):
            raise PermissionDeniedError("Invalid token.")
        expires_at = account.tokens.get(token_hash(token))
        if expires_at is None or datetime.fromisoformat(expires_at) <= self.now():
            raise PermissionDeniedError("Token expired or revoked.")
        if account.locked or account.role is None:
            raise PermissionDeniedError("This account is locked or holds no role.")
        return self._actor(account)

    def revoke_token(self, actor: Actor, token: str) -> None:
        """Log out: the token stops working at once, everywhere."""
        account = self.account(actor.username)
        account.revoke_token(token_hash=token_hash(token), context=self._context(actor).as_event_data())
        self.save(account)

    @staticmethod
    def _actor(account: Account) -> Actor:
        return Actor(account.id.hex, account.username, account.role or "", account.scope, account.language)

    @staticmethod
    def _context(actor: Actor, submission_id: str | None = None) -> Context:
        return Context(actor=actor.username, role=actor.role, submission_id=submission_id)
