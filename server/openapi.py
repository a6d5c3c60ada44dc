"""OpenAPI 3.1 generated from the URL map and the marshmallow schemas each route declares."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from server.schemas import ProblemSchema

CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
PARAM_TYPES = {"uuid": {"type": "string", "format": "uuid"}, "int": {"type": "integer"}, None: {"type": "string"}}
STATUS_TEXT = {
    400: "Malformed request",
    401: "Missing, expired or revoked token",
    403: "Role or committee scope does not allow this",
    404: "No such record or committee",
    409: "Conflicts with the record's state or version, or a reused submission id",
    413: "Body larger than the limit",
    415: "Body is not application/json",
    422: "Body or query failed validation",
    503: "Store busy or unreachable; retry after Retry-After",
}


def _schema_name(schema: type) -> str:
    return schema.__name__.removesuffix("Schema")


def build_spec(app: Flask) -> dict[str, Any]:
    """The whole document; built once per process and cached on the app."""
    cached = app.extensions.get("pantau.openapi")
    if cached is not None:
        return cached
    spec = APISpec(title="Pantau API", version="1.0.0", openapi_version="3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=ProblemSchema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "openapi", None)
        if meta is None:
            continue
        path = CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": PARAM_TYPES.get(conv, {"type": "string"})}
            for conv, name in CONVERTER.findall(rule.rule)
        ]
        if meta["query"] is not None:
            parameters.append({"in": "query", "schema": meta["query"]})
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            spec.path(path=path, operations={method.lower(): _operation(view, meta, parameters)})
    document = spec.to_dict()
    app.extensions["pantau.openapi"] = document
    return document


def _operation(view: Any, meta: dict[str, Any], parameters: list[dict[str, Any]]) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": meta["summary"], "operationId": view.__name__, "parameters": parameters}
    if getattr(view, "permission", "public") != "public":
        operation["security"] = [{"bearer": []}]
        operation["description"] = f"Requires permission `{view.permission}`."
    if meta["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta["body"]}}}
    success: dict[str, Any] = {"description": "Success"}
    if meta["response"] is not None:
        # `content` may list several media types ("application/json,text/csv"); CSV bodies are strings.
        success["content"] = {
            media: {"schema": meta["response"] if media.endswith("json") else {"type": "string"}}
            for media in meta["content"].split(",")
        }
    elif meta["status"] != 204:
        body_type = "object" if meta["content"].endswith("json") else "string"
        success["content"] = {meta["content"]: {"schema": {"type": body_type}}}
    responses: dict[int, Any] = {meta["status"]: success}
    for status in meta["errors"]:
        responses[status] = {
            "description": STATUS_TEXT.get(status, "Error"),
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
    operation["responses"] = responses
    return operation
