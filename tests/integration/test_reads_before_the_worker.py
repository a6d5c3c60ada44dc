"""A fresh instance answers reads before its projection worker has ever run: empty, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import visit_body


@pytest.mark.parametrize(
    "path", ["/api/v1/committees", "/api/v1/status", "/api/v1/complaints", "/api/v1/corrections", "/api/v1/audit"]
)
def test_lists_are_empty_until_the_worker_first_runs(client: Any, headers: dict, backend: str, path: str) -> None:
    response = client.get(path, headers=headers["kpu_admin"])
    assert response.status_code == 200
    assert response.json["items"] == []


def test_the_same_uuid_spelled_in_capitals_is_the_same_submission(client: Any, headers: dict) -> None:
    body = visit_body()
    first = client.post("/api/v1/visits", json=body, headers=headers["pps_officer"])
    again = client.post("/api/v1/visits", json={**body, "id": body["id"].upper()}, headers=headers["pps_officer"])
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"


# Look-alike digits are the point of this test.
LOOK_ALIKES = ["19.71.01.1004\n", "19.71.01.١٠٠٤", "１９.71.01.1004"]  # noqa: RUF001


@pytest.mark.parametrize("code", LOOK_ALIKES)
def test_an_area_code_with_non_ascii_digits_or_a_newline_is_a_schema_error(
    client: Any, headers: dict, code: str
) -> None:
    response = client.post("/api/v1/visits", json=visit_body(committee=code), headers=headers["pps_officer"])
    assert response.status_code == 422
    assert "committee" in response.json["errors"]
