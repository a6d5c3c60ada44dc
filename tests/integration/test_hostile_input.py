"""A catalogue of nasty requests: each gets its exact status as problem+json, and none writes an event."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import FAR_PPS, OTHER_PPS
from tests.factories import complaint_body, correction_body, visit_body

JSON = "application/json"


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def with_location(**location: Any) -> bytes:
    return raw(complaint_body(location={"latitude": -2.13, "longitude": 106.11, **location}))


def checklist_answer(value: Any) -> bytes:
    body = visit_body()
    first = next(iter(body["checklist"]))
    body["checklist"][first] = value
    return raw(body)


def other_digits(zero: int) -> str:
    """A valid NIK written in another script's digits (fullwidth, Arabic-Indic), which str.isdigit() accepts."""
    return "".join(chr(zero + int(d)) for d in "1971014403900007")


def replace_in(body: dict[str, Any], old: str, new: str) -> bytes:
    """Splice a literal the json module would never write (NaN, 1e400, a lone surrogate) into a body."""
    text = json.dumps(body)
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


Case = Callable[[], bytes]
MB = 1024 * 1024

# (id, path, body, content type, status, field expected in `errors` for a 422)
SUBMISSIONS: list[Any] = [
    # Not JSON, or not the JSON we accept.
    ("malformed-json", "complaints", lambda: b'{"id": ', JSON, 400, None),
    ("trailing-garbage", "complaints", lambda: raw(complaint_body()) + b"}", JSON, 400, None),
    ("empty-body", "complaints", lambda: b"", JSON, 400, None),
    ("nested-10k-levels", "complaints", lambda: b'{"a":' * 10_000 + b"1" + b"}" * 10_000, JSON, 400, None),
    (
        "nested-10k-arrays-in-a-field",
        "visits",
        lambda: b'{"follow_ups":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        JSON,
        400,
        None,
    ),
    ("nested-past-the-depth-limit", "complaints", lambda: b'{"a":' * 40 + b"1" + b"}" * 40, JSON, 400, None),
    (
        "invalid-utf8-bytes",
        "complaints",
        lambda: raw(complaint_body(description="X")).replace(b'"X"', b'"\xff\xfe\xc3"'),
        JSON,
        400,
        None,
    ),
    ("utf16-encoded", "complaints", lambda: json.dumps(complaint_body()).encode("utf-16"), JSON, 400, None),
    (
        "lone-surrogate-escape",
        "complaints",
        lambda: replace_in(complaint_body(description="X"), '"X"', '"a\\ud800b"'),
        JSON,
        400,
        None,
    ),
    (
        "lone-surrogate-escape-in-capitals",
        "complaints",
        lambda: replace_in(complaint_body(description="X"), '"X"', '"a\\uDC00b"'),
        JSON,
        400,
        None,
    ),
    ("nested-one-past-the-depth-limit", "complaints", lambda: b'{"a":' * 32 + b"1" + b"}" * 32, JSON, 400, None),
    ("nan-literal", "complaints", lambda: with_location().replace(b"-2.13", b"NaN"), JSON, 400, None),
    ("infinity-literal", "complaints", lambda: with_location().replace(b"106.11", b"Infinity"), JSON, 400, None),
    ("minus-infinity-literal", "complaints", lambda: with_location().replace(b"-2.13", b"-Infinity"), JSON, 400, None),
    (
        "integer-of-5000-digits",
        "visits",
        lambda: replace_in(visit_body(), '"checklist_version": 1', '"checklist_version": 1' + "0" * 5000),
        JSON,
        400,
        None,
    ),
    ("json-array", "complaints", lambda: b"[" + raw(complaint_body()) + b"]", JSON, 400, None),
    ("json-string", "complaints", lambda: b'"a complaint"', JSON, 400, None),
    ("json-number", "complaints", lambda: b"42", JSON, 400, None),
    ("json-null", "complaints", lambda: b"null", JSON, 400, None),
    # Wrong content types.
    ("text-plain", "complaints", lambda: raw(complaint_body()), "text/plain", 415, None),
    (
        "form-data",
        "complaints",
        lambda: b"id=1&committee=19.71.01.1004",
        "application/x-www-form-urlencoded",
        415,
        None,
    ),
    ("no-content-type", "complaints", lambda: raw(complaint_body()), None, 415, None),
    # Too big.
    ("body-over-1-mb", "complaints", lambda: raw(complaint_body(description="a" * (MB + 10))), JSON, 413, None),
    ("huge-string", "complaints", lambda: raw(complaint_body(description="a" * 200_000)), JSON, 422, "description"),
    ("huge-array", "visits", lambda: raw(visit_body(follow_ups=["x"] * 100_000)), JSON, 422, "follow_ups"),
    (
        "huge-checklist",
        "visits",
        lambda: raw(visit_body(checklist={f"k{i}": True for i in range(30_000)})),
        JSON,
        422,
        "checklist",
    ),
    # Wrong types and values.
    (
        "unknown-fields",
        "complaints",
        lambda: raw(complaint_body(status="resolved", is_admin=True)),
        JSON,
        422,
        "status",
    ),
    (
        "missing-required-field",
        "complaints",
        lambda: raw({k: v for k, v in complaint_body().items() if k != "description"}),
        JSON,
        422,
        "description",
    ),
    ("id-not-a-uuid", "complaints", lambda: raw(complaint_body(id="laporan-1")), JSON, 422, "id"),
    ("nul-byte-in-text", "complaints", lambda: raw(complaint_body(description="a\x00b")), JSON, 422, "description"),
    (
        "nul-byte-in-checklist-key",
        "visits",
        lambda: raw(visit_body(checklist={"dpt_\x00announced": True})),
        JSON,
        422,
        "checklist",
    ),
    (
        "nul-byte-in-committee",
        "complaints",
        lambda: raw(complaint_body(committee="19.71.01.1004\x00")),
        JSON,
        422,
        "committee",
    ),
    ("number-as-string", "visits", lambda: raw(visit_body(checklist_version="1")), JSON, 422, "checklist_version"),
    ("float-as-string", "complaints", lambda: with_location(latitude="-2.13"), JSON, 422, "location"),
    ("boolean-as-number-in-checklist", "visits", lambda: checklist_answer(1), JSON, 422, "checklist"),
    ("boolean-as-string-in-checklist", "visits", lambda: checklist_answer("true"), JSON, 422, "checklist"),
    ("boolean-as-ya-in-checklist", "visits", lambda: checklist_answer("ya"), JSON, 422, "checklist"),
    (
        "unknown-checklist-version",
        "visits",
        lambda: raw(visit_body(checklist_version=99)),
        JSON,
        422,
        "checklist_version",
    ),
    (
        "checklist-item-missing",
        "visits",
        lambda: raw(visit_body(checklist={"dpt_announced": True})),
        JSON,
        422,
        "checklist",
    ),
    (
        "device-time-far-future",
        "complaints",
        lambda: raw(complaint_body(device_time="2099-01-01T00:00:00+07:00")),
        JSON,
        422,
        "device_time",
    ),
    (
        "device-time-before-2000",
        "complaints",
        lambda: raw(complaint_body(device_time="1999-12-31T23:59:59+07:00")),
        JSON,
        422,
        "device_time",
    ),
    (
        "device-time-year-1",
        "complaints",
        lambda: raw(complaint_body(device_time="0001-01-01T00:00:00+23:59")),
        JSON,
        422,
        "device_time",
    ),
    (
        "device-time-year-9999",
        "complaints",
        lambda: raw(complaint_body(device_time="9999-12-31T23:59:59-23:59")),
        JSON,
        422,
        "device_time",
    ),
    (
        "device-time-without-offset",
        "complaints",
        lambda: raw(complaint_body(device_time="2026-11-26T10:00:00")),
        JSON,
        422,
        "device_time",
    ),
    (
        "device-time-not-a-time",
        "complaints",
        lambda: raw(complaint_body(device_time="kemarin")),
        JSON,
        422,
        "device_time",
    ),
    ("latitude-above-90", "complaints", lambda: with_location(latitude=90.0001), JSON, 422, "location"),
    ("latitude-below-minus-90", "complaints", lambda: with_location(latitude=-91), JSON, 422, "location"),
    ("longitude-above-180", "complaints", lambda: with_location(longitude=180.5), JSON, 422, "location"),
    ("longitude-below-minus-180", "complaints", lambda: with_location(longitude=-181), JSON, 422, "location"),
    ("latitude-1e400", "complaints", lambda: with_location().replace(b"-2.13", b"1e400"), JSON, 422, "location"),
    ("negative-accuracy", "complaints", lambda: with_location(accuracy_m=-5), JSON, 422, "location"),
    ("nik-15-digits", "corrections", lambda: raw(correction_body(nik="197101440390000")), JSON, 422, "nik"),
    ("nik-17-digits", "corrections", lambda: raw(correction_body(nik="19710144039000071")), JSON, 422, "nik"),
    ("nik-with-letters", "corrections", lambda: raw(correction_body(nik="19710144039OOOO7")), JSON, 422, "nik"),
    ("nik-as-number", "corrections", lambda: raw(correction_body(nik=1971014403900007)), JSON, 422, "nik"),
    (
        "nik-fullwidth-digits",
        "corrections",
        lambda: raw(correction_body(nik=other_digits(0xFF10))),
        JSON,
        422,
        "nik",
    ),
    (
        "nik-arabic-indic-digits",
        "corrections",
        lambda: raw(correction_body(nik=other_digits(0x0660))),
        JSON,
        422,
        "nik",
    ),
    (
        "nik-with-trailing-newline",
        "corrections",
        lambda: raw(correction_body(nik="1971014403900007\n")),
        JSON,
        422,
        "nik",
    ),
    ("mark-tms-without-reason", "corrections", lambda: raw(correction_body(kind="mark_tms")), JSON, 422, "tms_reason"),
    # Committees.
    (
        "committee-not-an-area-code",
        "complaints",
        lambda: raw(complaint_body(committee="Semabung")),
        JSON,
        422,
        "committee",
    ),
    ("committee-unknown", "complaints", lambda: raw(complaint_body(committee="19.71.09.9999")), JSON, 404, None),
    ("committee-unknown-ppk", "visits", lambda: raw(visit_body(committee="11.01.01")), JSON, 404, None),
    (
        "committee-out-of-scope-same-ppk",
        "complaints",
        lambda: raw(complaint_body(committee=OTHER_PPS)),
        JSON,
        403,
        None,
    ),
    (
        "committee-out-of-scope-other-ppk",
        "corrections",
        lambda: raw(correction_body(committee=FAR_PPS)),
        JSON,
        403,
        None,
    ),
]


def log_length(pantau_app: Any) -> int:
    return pantau_app.recorder.max_notification_id() or 0


def assert_problem(response: Any, status: int, field: str | None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["status"] == status
    assert problem["title"]
    if field is not None:
        assert field in problem["errors"], problem["errors"]


@pytest.mark.parametrize(
    ("plural", "make_body", "content_type", "status", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in SUBMISSIONS],
)
def test_a_hostile_submission_is_refused_with_its_exact_status_and_writes_nothing(
    plural: str,
    make_body: Case,
    content_type: str | None,
    status: int,
    field: str | None,
    client: Any,
    headers: dict,
    pantau_app: Any,
) -> None:
    request_headers = dict(headers["pps_officer"])
    if content_type is not None:
        request_headers["Content-Type"] = content_type
    before = log_length(pantau_app)

    response = client.post(f"/api/v1/{plural}", data=make_body(), headers=request_headers)

    assert_problem(response, status, field)
    assert log_length(pantau_app) == before


@pytest.fixture
def complaint_url(client: Any, headers: dict) -> str:
    body = complaint_body()
    assert client.post("/api/v1/complaints", json=body, headers=headers["pps_officer"]).status_code == 201
    return f"/api/v1/complaints/{body['id']}"


TRANSITIONS: list[Any] = [
    ("expected-version-as-string", "acknowledge", b'{"expected_version": "1"}', JSON, 422, "expected_version"),
    ("expected-version-zero", "acknowledge", b'{"expected_version": 0}', JSON, 422, "expected_version"),
    ("expected-version-float", "acknowledge", b'{"expected_version": 1.5}', JSON, 422, "expected_version"),
    (
        "expected-version-huge",
        "acknowledge",
        b'{"expected_version": 99999999999999999999}',
        JSON,
        422,
        "expected_version",
    ),
    ("expected-version-nan", "acknowledge", b'{"expected_version": NaN}', JSON, 400, None),
    (
        "escalate-to-unknown-target",
        "escalate",
        b'{"expected_version": 1, "target": "dpr", "reason": "x"}',
        JSON,
        422,
        "target",
    ),
    ("unknown-field", "dismiss", b'{"expected_version": 1, "reason": "x", "status": "resolved"}', JSON, 422, "status"),
    ("reason-with-nul", "dismiss", b'{"expected_version": 1, "reason": "a\\u0000b"}', JSON, 422, "reason"),
    ("non-object", "acknowledge", b"[1]", JSON, 400, None),
    ("text-plain", "acknowledge", b'{"expected_version": 1}', "text/plain", 415, None),
]


@pytest.mark.parametrize(
    ("action", "body", "content_type", "status", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in TRANSITIONS],
)
def test_a_hostile_lifecycle_step_is_refused_and_writes_nothing(
    action: str,
    body: bytes,
    content_type: str,
    status: int,
    field: str | None,
    client: Any,
    headers: dict,
    pantau_app: Any,
    complaint_url: str,
) -> None:
    before = log_length(pantau_app)

    response = client.post(
        f"{complaint_url}/{action}", data=body, headers={**headers["ppk_officer"], "Content-Type": content_type}
    )

    assert_problem(response, status, field)
    assert log_length(pantau_app) == before


@pytest.mark.parametrize("if_match", ['"abc"', "*", '"1.0"', '"-1"', '"²"', '"' + "9" * 5000 + '"'])
def test_an_unusable_if_match_is_422_and_writes_nothing(
    if_match: str, client: Any, headers: dict, pantau_app: Any, complaint_url: str
) -> None:
    before = log_length(pantau_app)

    response = client.post(
        f"{complaint_url}/acknowledge", json={}, headers={**headers["ppk_officer"], "If-Match": if_match}
    )

    assert_problem(response, 422, "expected_version")
    assert log_length(pantau_app) == before


@pytest.mark.parametrize(
    ("query", "status"),
    [("version=abc", 422), ("version=0", 422), ("version=99999999999999999999", 422), ("colour=red", 422)],
)
def test_a_hostile_query_string_is_refused(
    query: str, status: int, client: Any, headers: dict, complaint_url: str
) -> None:
    assert_problem(client.get(f"{complaint_url}?{query}", headers=headers["auditor"]), status, None)


@pytest.mark.parametrize(
    "path",
    [
        "/%00",
        "/a%00b.js",
        "/" + "a" * 5000 + ".js",
        "/..%2f..%2fetc/passwd",
        "/api/v1/committees/%00",
        "/api/v1/visits/not-a-uuid",
    ],
)
def test_a_hostile_path_is_404_not_a_server_error(path: str, client: Any, headers: dict) -> None:
    assert_problem(client.get(path, headers=headers["auditor"]), 404, None)


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"[]", JSON, 400),
        (b'{"username": "kpu_admin", "password": NaN}', JSON, 400),
        (b'{"username": "kpu_admin", "password": 12345678}', JSON, 422),
        (b'{"username": "kpu_admin", "password": "x", "role": "kpu_admin"}', JSON, 422),
        (b"username=kpu_admin&password=x", "application/x-www-form-urlencoded", 415),
    ],
)
def test_a_hostile_login_is_refused(body: bytes, content_type: str, status: int, client: Any, seeded: Any) -> None:
    before = log_length(seeded)

    response = client.post("/api/v1/auth/token", data=body, headers={"Content-Type": content_type})

    assert_problem(response, status, None)
    assert log_length(seeded) == before
