"""Every route declares who may call it, and the role x route matrix holds for every role.

Both tests walk Flask's URL map, so a route added tomorrow is checked without touching this file.
Committee scope (a PPS officer and another PPS) is tested in the submission and auth tests.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.routing import Rule

from server.auth import PUBLIC
from server.domain.base import SYSTEM
from server.domain.roles import PERMISSIONS, ROLES, SCOPED_ROLES
from tests.conftest import PPK, PPS
from tests.factories import complaint_body, correction_body, visit_body

ANONYMOUS = "anonymous"
FLASK_BUILTINS = frozenset({"static"})
CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
SCOPE = {"pps_officer": PPS, "ppk_officer": PPK}
PASSWORD = "matrix-password-1"
_accounts = itertools.count()


@dataclass
class Fixtures:
    """Real records (in PPS 19.71.01.1004) and accounts that path parameters and bodies refer to."""

    app: Any
    records: dict[str, str]
    target_username: str
    caller: dict[str, str] = field(default_factory=dict)

    def version(self, record_id: str) -> int:
        return self.app.repository.get(uuid.UUID(record_id)).version


def record_id_param(rule: Rule, fx: Fixtures) -> str | None:
    """The id of the fixture record of the collection named just before the parameter."""
    collection = rule.rule.split("/<", 1)[0].rsplit("/", 1)[-1]
    return fx.records.get(collection)


# Path parameters by (converter, name); a route with a parameter not in here is an "unknown shape".
PATH_PARAMS: dict[tuple[str, str], Callable[[Rule, Fixtures], str | None]] = {
    ("uuid", "record_id"): record_id_param,
    ("string", "code"): lambda rule, fx: PPS,
    ("string", "username"): lambda rule, fx: fx.target_username,
    ("path", "name"): lambda rule, fx: "index.html",
    ("app_path", "name"): lambda rule, fx: "index.html",
}
FALLBACK_PARAMS = {"uuid": "00000000-0000-4000-8000-000000000000", "int": "1", "float": "1.0"}


def expected(fx: Fixtures, rule: Rule) -> dict[str, Any]:
    return {"expected_version": fx.version(record_id_param(rule, fx) or "")}


# Valid bodies by the request schema a route documents; unknown schemas get {} (the deny side still holds).
BODIES: dict[str, Callable[[Rule, Fixtures], dict[str, Any]]] = {
    "VisitSubmissionSchema": lambda rule, fx: visit_body(),
    "ComplaintSubmissionSchema": lambda rule, fx: complaint_body(),
    "CorrectionSubmissionSchema": lambda rule, fx: correction_body(),
    "NoteTransitionSchema": lambda rule, fx: {**expected(fx, rule), "note": "Matrix"},
    "ReasonTransitionSchema": lambda rule, fx: {**expected(fx, rule), "reason": "Matrix"},
    "EscalateSchema": lambda rule, fx: {**expected(fx, rule), "reason": "Matrix", "target": "legal"},
    "AmendVisitSchema": lambda rule, fx: {**expected(fx, rule), "reason": "Matrix", "findings": "Diralat"},
    "ResolveFollowUpSchema": lambda rule, fx: {**expected(fx, rule), "index": 0, "resolution": "Matrix"},
    "TokenRequestSchema": lambda rule, fx: dict(fx.caller),
}


def endpoints(app: Any) -> list[tuple[Rule, str]]:
    """(rule, method) for every route the app serves, HEAD and OPTIONS aside."""
    return [
        (rule, method)
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        if rule.endpoint not in FLASK_BUILTINS
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def build_url(rule: Rule, fx: Fixtures) -> tuple[str, bool]:
    """The URL with every parameter filled, and whether all of them came from the table."""
    known = True
    url = rule.rule
    for converter, name in CONVERTER.findall(rule.rule):
        converter = converter or "string"
        value = PATH_PARAMS[(converter, name)](rule, fx) if (converter, name) in PATH_PARAMS else None
        if value is None:
            known = False
            value = FALLBACK_PARAMS.get(converter, "x")
        url = CONVERTER.sub(value, url, count=1)
    return url, known


def test_every_route_declares_its_permission_and_its_documentation(app: Any) -> None:
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in FLASK_BUILTINS:
            continue
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "permission", None)
        missing = []
        if permission is None:
            missing.append("a permission (@requires or @public)")
        elif permission != PUBLIC and permission not in PERMISSIONS:
            missing.append(f"a known permission (has {permission!r})")
        if getattr(view, "openapi", None) is None:
            missing.append("documentation (@doc)")
        if missing:
            undeclared.append(f"{rule.endpoint} {rule.rule}: lacks {' and '.join(missing)}")

    assert undeclared == [], "\n".join(undeclared)


def test_every_permission_is_granted_to_known_roles_only() -> None:
    for permission, roles in PERMISSIONS.items():
        assert roles <= set(ROLES), permission


@pytest.fixture
def matrix(app: Any, seeded: Any, worker: Any, client: Any) -> Fixtures:
    """A visit, complaint and correction in PPS 19.71.01.1004, and an account for account routes."""
    pps = seeded.issue_token("pps_semabung", "demo-pps-2024", _ttl(), SYSTEM).token
    records = {}
    for plural, body in (
        ("visits", visit_body()),
        ("complaints", complaint_body()),
        ("corrections", correction_body()),
    ):
        response = client.post(f"/api/v1/{plural}", json=body, headers={"Authorization": f"Bearer {pps}"})
        assert response.status_code == 201, response.json
        records[plural] = body["id"]
    seeded.create_account("matrix_target", PASSWORD, "auditor", None, SYSTEM)
    return Fixtures(app=seeded, records=records, target_username="matrix_target")


def _ttl() -> Any:
    from datetime import timedelta

    return timedelta(hours=1)


def fresh_caller(fx: Fixtures, role: str) -> dict[str, str]:
    """A new account of the role for every call, so logouts, locks or password changes by one call stay local."""
    if role == ANONYMOUS:
        fx.caller = {"username": "matrix_target", "password": PASSWORD}
        return {}
    username = f"matrix_{role}_{next(_accounts)}"
    committee = SCOPE.get(role) if role in SCOPED_ROLES else None
    fx.app.create_account(username, PASSWORD, role, committee, SYSTEM)
    fx.caller = {"username": username, "password": PASSWORD}
    token = fx.app.issue_token(username, PASSWORD, _ttl(), SYSTEM).token
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_each_role_reaches_exactly_the_routes_its_permissions_allow(role: str, app: Any, matrix: Fixtures) -> None:
    client = app.test_client()
    wrong = []
    for rule, method in endpoints(app):
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "permission", None)
        url, known = build_url(rule, matrix)
        headers = fresh_caller(matrix, role)
        body_schema = (getattr(view, "openapi", None) or {}).get("body")
        kwargs: dict[str, Any] = {"headers": headers}
        if method in ("POST", "PUT", "PATCH"):
            make_body = BODIES.get(body_schema.__name__) if body_schema else None
            kwargs["json"] = make_body(rule, matrix) if make_body and known else {}
        with client.open(url, method=method, **kwargs) as response:
            status = response.status_code

        if permission == PUBLIC:
            allowed, expect = True, "not 401/403 (public)"
        elif role == ANONYMOUS:
            allowed, expect = False, "401"
        else:
            allowed = role in PERMISSIONS.get(permission, frozenset())
            expect = f"not 401/403 ({permission})" if allowed else f"403 (lacks {permission})"
        if allowed:
            # A route whose parameters we could not fill may refuse on scope; only the deny side is certain.
            ok = status not in (401, 403) or not (known or permission == PUBLIC)
        else:
            ok = status == (401 if role == ANONYMOUS else 403)
        if status >= 500 or not ok:
            wrong.append(f"{method} {url}: {status}, expected {expect}")

    assert wrong == [], f"{role}:\n" + "\n".join(wrong)
