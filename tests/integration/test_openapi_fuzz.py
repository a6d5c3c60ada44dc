"""The OpenAPI document describes every route, and a schema-driven fuzzer finds no 5xx and no undocumented answer."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.auth import PUBLIC
from server.domain.base import SYSTEM
from server.domain.roles import PERMISSIONS, ROLES
from tests.conftest import PPS
from tests.factories import complaint_body, correction_body, visit_body

CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
FLASK_BUILTINS = frozenset({"static"})
SEED = 20241127
_accounts = itertools.count()


def openapi_path(rule: str) -> str:
    return CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule)


def served_operations(app: Any) -> dict[tuple[str, str], Any]:
    """(OpenAPI path, method) -> view for every route in the URL map."""
    return {
        (openapi_path(rule.rule), method.lower()): app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in FLASK_BUILTINS
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_is_openapi_3_1_and_lists_exactly_the_routes_served(app: Any, document: dict[str, Any]) -> None:
    documented = {(path, method) for path, item in document["paths"].items() for method in item}

    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert sorted(set(served_operations(app)) - documented) == [], "served but not documented"
    assert sorted(documented - set(served_operations(app))) == [], "documented but not served"


def test_every_operation_documents_its_bodies_its_security_and_its_errors(app: Any, document: dict[str, Any]) -> None:
    gaps = []
    operation_ids = []
    for (path, method), view in sorted(served_operations(app).items()):
        operation = document["paths"][path][method]
        meta = view.openapi
        where = f"{method.upper()} {path}"
        operation_ids.append(operation["operationId"])
        responses = {int(status): response for status, response in operation["responses"].items()}
        success = [status for status in responses if 200 <= status < 300]
        if not operation.get("summary"):
            gaps.append(f"{where}: no summary")
        if len(success) != 1:
            gaps.append(f"{where}: {len(success)} success responses")
        elif success[0] != 204 and "content" not in responses[success[0]]:
            gaps.append(f"{where}: success response without content")
        if meta["response"] is not None and "$ref" not in str(responses.get(meta["status"], {})):
            gaps.append(f"{where}: response schema not referenced")
        if meta["body"] is not None:
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                gaps.append(f"{where}: request body schema missing")
            for status in (400, 413, 415, 422):
                if status not in responses:
                    gaps.append(f"{where}: takes a JSON body but does not document {status}")
        for status, response in responses.items():
            if status >= 400 and response["content"]["application/problem+json"]["schema"] != {
                "$ref": "#/components/schemas/Problem"
            }:
                gaps.append(f"{where}: {status} is not a Problem")
        if view.permission != PUBLIC:
            if operation.get("security") != [{"bearer": []}]:
                gaps.append(f"{where}: not marked as needing a bearer token")
            if 401 not in responses:
                gaps.append(f"{where}: does not document 401")
            if set(ROLES) - PERMISSIONS[view.permission] and 403 not in responses:
                gaps.append(f"{where}: some roles get 403 but it is not documented")

    assert gaps == [], "\n".join(gaps)
    assert len(operation_ids) == len(set(operation_ids)), "operationIds are not unique"


# --- fuzzing ---------------------------------------------------------------------------------


def fuzz_config() -> SchemathesisConfig:
    """Seeded, derandomised and small, so CI stays fast and a failure reproduces."""
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "generation": {
                "max-examples": EXAMPLES_PER_OPERATION,
                "deterministic": True,
                "no-shrink": True,
                "database": "none",
            },
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        }
    )


@pytest.fixture
def fuzz_target(app: Any, client: Any, worker: Any, seeded: Any) -> dict[str, Any]:
    """Real records in PPS 19.71.01.1004 so lifecycle operations reach the domain, not only 404."""
    token = seeded.issue_token("pps_semabung", "demo-pps-2024", timedelta(hours=1), SYSTEM).token
    records = {}
    bodies = {"visits": visit_body(), "complaints": complaint_body(), "corrections": correction_body()}
    for plural, body in bodies.items():
        response = client.post(f"/api/v1/{plural}", json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201
        records[plural] = body["id"]
    return {"app": seeded, "records": records, "worker": worker}


CALLERS = {"kpu_admin": None, "pps_officer": PPS}
# Invalid input is refused before any role matters, so one role is enough for it.
MODES = {
    "kpu_admin": (GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
    "pps_officer": (GenerationMode.POSITIVE,),
}
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_OPERATION = 3
PASSWORD = "fuzz-password-1"
FAILURE_TEXT = 1500


def is_documented_retry(response: Any) -> bool:
    """A 503 with Retry-After is the documented "busy or behind, retry" answer, not a crash."""
    return response.status_code == 503 and bool(response.headers.get("retry-after"))


def fresh_account(application: Any, role: str) -> str:
    """A new account per operation, so what one operation does to its caller cannot starve the next."""
    username = f"fuzz_{role}_{next(_accounts)}"
    application.create_account(username, PASSWORD, role, CALLERS[role], SYSTEM)
    return username


def fresh_token(application: Any, username: str) -> str:
    """A new token per call: a fuzzed logout revokes only its own."""
    return application.issue_token(username, PASSWORD, timedelta(hours=1), SYSTEM).token


def fuzz_operation(operation: Any, mode: GenerationMode, role: str, fuzz_target: dict[str, Any]) -> list[str]:
    """A few seeded examples of one operation; the check failures they found."""
    failures: list[str] = []
    overrides: dict[str, Any] = {}
    if "{record_id}" in operation.path and mode is GenerationMode.POSITIVE:
        collection = operation.path.split("/")[3]
        overrides["path_parameters"] = {"record_id": fuzz_target["records"].get(collection, str(uuid.uuid4()))}

    username = fresh_account(fuzz_target["app"], role)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **overrides))
    def send(case: Any) -> None:
        token = fresh_token(fuzz_target["app"], username)
        # Read models current, as the worker keeps them: a read-your-writes wait answers at once.
        fuzz_target["worker"].catch_up()
        headers = {"Authorization": f"Bearer {token}"}
        # Buffered: the WSGI client then closes streamed file responses (the PWA's files).
        response = case.call(headers=headers, buffered=True)
        if response.status_code >= 500 and not is_documented_retry(response):
            failures.append(f"{role} {mode.value} {operation.label}: {response.status_code}\n{case.as_curl_command()}")
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as error:
            failures.append(f"{role} {mode.value} {operation.label}:\n{str(error)[:FAILURE_TEXT]}")

    try:
        send()
    except Unsatisfiable:
        # An operation without parameters or body has nothing to make invalid.
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


def fuzz(app: Any, fuzz_target: dict[str, Any], role: str) -> list[str]:
    """Every operation, valid and invalid inputs; the failures found."""
    api = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=fuzz_config())
    failures: list[str] = []
    for result in api.get_all_operations():
        for mode in MODES[role]:
            failures += fuzz_operation(result.ok(), mode, role, fuzz_target)
    return failures


@pytest.mark.parametrize("role", CALLERS)
def test_fuzzing_the_api_from_its_document_finds_no_server_error_and_no_undocumented_answer(
    role: str, app: Any, fuzz_target: dict[str, Any]
) -> None:
    failures = fuzz(app, fuzz_target, role)

    assert failures == [], "\n\n".join(failures)
