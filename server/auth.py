"""Bearer-token authentication and the permission every route must declare."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from server.domain.errors import PermissionDeniedError
from server.domain.roles import PERMISSIONS, Actor
from server.problems import Unauthenticated
from server.services import pantau

F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"


def bearer_token() -> str:
    """The token from `Authorization: Bearer ...`, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Send Authorization: Bearer <token> (POST /api/v1/auth/token issues one).")
    return token.strip()


def current_actor() -> Actor:
    """The actor of this request, set by @requires."""
    return g.actor


def requires(permission: str) -> Callable[[F], F]:
    """Authenticate, then refuse roles without `permission`. Marks the view for the route audit test."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = bearer_token()
            try:
                actor = pantau().actor_for_token(token)
            except PermissionDeniedError as error:
                raise Unauthenticated(str(error)) from None
            g.actor = actor
            g.token = token
            actor.check_permission(permission)
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Explicitly open to anyone: the route audit test accepts only declared routes."""
    view.permission = PUBLIC  # type: ignore[attr-defined]
    return view
