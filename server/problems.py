"""One error shape (RFC 9457 problem+json) and the one place that maps domain errors to HTTP."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from flask import Flask, Response, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from server.domain.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
)

log = logging.getLogger(__name__)

PROBLEM_TYPES = "https://pantau.kpu.example/problems/"


class Unauthenticated(Exception):
    """No valid bearer token: 401, distinct from a known actor lacking permission (403)."""


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": PROBLEM_TYPES + title.lower().replace(" ", "-"), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="pantau"'
    return response


def domain_problem(error: DomainError) -> Response:
    """Each family of domain error gets exactly one status code."""
    if isinstance(error, NotFoundError):
        return problem(404, "Not Found", str(error))
    if isinstance(error, PermissionDeniedError):
        return problem(403, "Forbidden", str(error))
    if isinstance(error, InvalidInputError):
        errors = {error.field: [str(error)]} if error.field else {"_schema": [str(error)]}
        return problem(422, "Unprocessable Content", str(error), errors=errors)
    if isinstance(error, StaleVersionError):
        return problem(
            409,
            "Stale Version",
            str(error),
            expected_version=error.expected,
            current_version=error.actual,
            changed_by=error.changed_by,
            changed_at=error.changed_at,
        )
    if isinstance(error, ConflictError):
        return problem(409, "Conflict", str(error))
    return problem(400, "Bad Request", str(error))


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as problem+json; nothing leaves as an HTML page or a bare 500."""

    @app.errorhandler(DomainError)
    def on_domain_error(error: DomainError) -> Response:
        return domain_problem(error)

    @app.errorhandler(ValidationError)
    def on_validation_error(error: ValidationError) -> Response:
        messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        return problem(422, "Unprocessable Content", "The request body failed validation.", errors=messages)

    @app.errorhandler(Unauthenticated)
    def on_unauthenticated(error: Unauthenticated) -> Response:
        return problem(401, "Unauthorized", str(error))

    @app.errorhandler(HTTPException)
    def on_http_exception(error: HTTPException) -> Response:
        response = problem(error.code or 500, error.name, error.description)
        if error.code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(StoreOperationalError)
    def on_store_unavailable(error: Exception) -> Response:
        log.warning("event store unavailable: %s", type(error).__name__)
        response = problem(503, "Service Unavailable", "The event store is busy or unreachable; retry shortly.")
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(StoreIntegrityError)
    def on_concurrent_save(error: Exception) -> Response:
        # Two requests saved the same aggregate at once and no command handled it: a retry sees the winner.
        log.info("concurrent save refused: %s", type(error).__name__)
        return problem(409, "Conflict", "The record changed while this request was processed; reload and retry.")

    @app.errorhandler(Exception)
    def on_unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
