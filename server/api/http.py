"""Small helpers shared by the blueprints: strict JSON bodies, request context, docs metadata."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from marshmallow import Schema
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from server.domain.base import Context, Location
from server.domain.roles import Actor

F = TypeVar("F", bound=Callable[..., Any])
MAX_DEPTH = 32


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _depth(value: Any, limit: int) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def json_body() -> dict[str, Any]:
    """The request body as a JSON object: strict UTF-8, no NaN/Infinity, bounded nesting."""
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as application/json.")
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadRequest(f"The body is not valid JSON: {type(error).__name__}.") from None
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    # Both checks below walk the whole body in Python; the bytes tell (in C) when neither can fail, as for
    # every report an officer sends. Each level of nesting needs an opening bracket...
    if raw.count(b"{") + raw.count(b"[") >= MAX_DEPTH and _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise BadRequest(f"The body is nested deeper than {MAX_DEPTH} levels.")
    # ...and a lone surrogate can only come from an escape: raw surrogates are not UTF-8 and failed above.
    if b"\\ud" in raw or b"\\uD" in raw:
        try:
            # An escaped lone surrogate ("\\ud800") decodes to a string no UTF-8 store, hash or answer can hold.
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest("The body is not valid JSON: it contains an unpaired surrogate escape.") from None
    return data


@functools.cache
def schema_instance(schema_class: type[Schema]) -> Schema:
    """One instance per schema class and process: building a schema costs more than loading with it,
    and loading keeps no state on the instance, so threads can share it."""
    return schema_class()


def load(schema: type[Schema] | Schema, data: dict[str, Any]) -> dict[str, Any]:
    """Validate with a schema (422 on failure) and return the typed result."""
    if isinstance(schema, type):
        schema = schema_instance(schema)
    return schema.load(data)


def request_context(actor: Actor, loaded: dict[str, Any], submission_id: str | None = None) -> Context:
    """Who, in which role, from which submission, at what device time and place."""
    device_time = loaded.get("device_time")
    location = loaded.get("location")
    return Context(
        actor=actor.username,
        role=actor.role,
        submission_id=submission_id,
        device_time=device_time.isoformat() if device_time else None,
        location=Location(location["latitude"], location["longitude"], location.get("accuracy_m"))
        if location
        else None,
    )


def doc(
    summary: str,
    *,
    body: type[Schema] | None = None,
    response: type[Schema] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    query: type[Schema] | None = None,
    content: str = "application/json",
) -> Callable[[F], F]:
    """Attach what the OpenAPI generator needs; the route audit test checks every route has it."""

    def decorate(view: F) -> F:
        view.openapi = {  # type: ignore[attr-defined]
            "summary": summary,
            "body": body,
            "response": response,
            "status": status,
            "errors": errors,
            "query": query,
            "content": content,
        }
        return view

    return decorate
