"""The application service on the in-memory store: idempotent submissions, scope, versions, accounts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from server.domain.application import PantauApplication, fingerprint
from server.domain.base import SYSTEM, Context
from server.domain.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    SubmissionConflictError,
    TransitionNotAllowedError,
)
from server.domain.roles import Actor, check_grant
from tests.factories import complaint_body, correction_body, visit_body

PPK, PPS, OTHER_PPS = "19.71.01", "19.71.01.1004", "19.71.01.1006"
IN_MEMORY = {
    "PERSISTENCE_MODULE": "server.persistence:POPOPositionFactory",
    "APPLICATION_RECORDER_TOPIC": "server.persistence:POPOPositionRecorder",
}


@pytest.fixture
def pantau() -> Iterator[PantauApplication]:
    """An in-memory application with one PPK, two of its PPS, and one account per role."""
    application = PantauApplication(env=IN_MEMORY)
    for code, name in ((PPK, "PPK Bukit Intan"), (PPS, "PPS Semabung Lama"), (OTHER_PPS, "PPS Bacang")):
        application.register_committee(code, name, SYSTEM)
    for username, role, committee in (
        ("pps", "pps_officer", PPS),
        ("ppk", "ppk_officer", PPK),
        ("kpu", "kpu_admin", None),
        ("audit", "auditor", None),
    ):
        application.create_account(username, "password-123", role, committee, SYSTEM)
    yield application
    application.close()


def actor(pantau: PantauApplication, username: str) -> Actor:
    token = pantau.issue_token(username, "password-123", timedelta(hours=1), SYSTEM).token
    return pantau.actor_for_token(token)


def context(who: Actor) -> Context:
    return Context(actor=who.username, role=who.role)


def test_the_in_memory_store_answers_log_positions(pantau: PantauApplication) -> None:
    officer = actor(pantau, "pps")

    receipt = pantau.record_visit(officer, visit_body(), context(officer))

    [last] = pantau.recorder.select_notifications(start=receipt.position, limit=1)
    assert last.originator_id == UUID(receipt.record["id"])
    assert pantau.recorder.position_of(UUID(receipt.record["id"]), 1) == receipt.position
    assert pantau.recorder.position_of(UUID(int=0), 1) is None


def test_a_replayed_submission_returns_the_original_receipt_without_a_new_event(pantau: PantauApplication) -> None:
    officer = actor(pantau, "pps")
    body = complaint_body()
    first = pantau.file_complaint(officer, body, context(officer))
    length = pantau.recorder.max_notification_id()

    again = pantau.file_complaint(officer, dict(reversed(list(body.items()))), context(officer))

    assert (again.record, again.position, again.replayed) == (first.record, first.position, True)
    assert pantau.recorder.max_notification_id() == length


def test_a_reused_id_with_other_content_is_a_submission_conflict(pantau: PantauApplication) -> None:
    officer = actor(pantau, "pps")
    body = complaint_body()
    pantau.file_complaint(officer, body, context(officer))

    with pytest.raises(SubmissionConflictError, match="different content"):
        pantau.file_complaint(officer, {**body, "description": "Lain"}, context(officer))


def test_the_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_submissions_are_refused_outside_the_actors_scope_and_for_unknown_committees(pantau: PantauApplication) -> None:
    officer = actor(pantau, "pps")

    with pytest.raises(PermissionDeniedError, match=OTHER_PPS):
        pantau.record_visit(officer, visit_body(committee=OTHER_PPS), context(officer))
    with pytest.raises(NotFoundError):
        pantau.record_visit(officer, visit_body(committee="19.71.01.9999"), context(officer))
    with pytest.raises(PermissionDeniedError):
        pantau.file_complaint(actor(pantau, "audit"), complaint_body(), SYSTEM)


def test_a_visit_must_answer_every_item_of_its_checklist_version(pantau: PantauApplication) -> None:
    officer = actor(pantau, "pps")

    with pytest.raises(InvalidInputError, match="not answered"):
        pantau.record_visit(officer, visit_body(checklist={"dpt_announced": True}), context(officer))
    with pytest.raises(InvalidInputError, match="Unknown checklist version"):
        pantau.record_visit(officer, visit_body(checklist_version=42), context(officer))


def test_a_step_against_an_old_version_names_who_changed_the_record_and_when(pantau: PantauApplication) -> None:
    officer, ppk, kpu = actor(pantau, "pps"), actor(pantau, "ppk"), actor(pantau, "kpu")
    record_id = UUID(pantau.file_complaint(officer, complaint_body(), context(officer)).record["id"])
    acknowledged = pantau.act(ppk, "complaint", record_id, "acknowledge", 1, {"note": ""}, context(ppk))

    with pytest.raises(StaleVersionError) as raised:
        pantau.act(kpu, "complaint", record_id, "dismiss", 1, {"reason": "Duplikat"}, context(kpu))

    error = raised.value
    assert (error.expected, error.actual, error.changed_by) == (1, 2, "ppk")
    assert error.changed_at == acknowledged.record["modified_at"]


def test_lifecycle_steps_need_their_permission(pantau: PantauApplication) -> None:
    officer = actor(pantau, "pps")
    record_id = UUID(pantau.file_complaint(officer, complaint_body(), context(officer)).record["id"])

    with pytest.raises(PermissionDeniedError, match="complaint handle"):
        pantau.act(officer, "complaint", record_id, "acknowledge", 1, {"note": ""}, context(officer))
    with pytest.raises(NotFoundError, match="no action"):
        pantau.act(officer, "complaint", record_id, "delete", 1, {}, context(officer))


def test_a_past_version_can_be_read_and_a_future_one_cannot(pantau: PantauApplication) -> None:
    officer, ppk = actor(pantau, "pps"), actor(pantau, "ppk")
    record_id = UUID(pantau.file_complaint(officer, complaint_body(), context(officer)).record["id"])
    pantau.act(ppk, "complaint", record_id, "acknowledge", 1, {"note": ""}, context(ppk))

    assert pantau.get_record(ppk, "complaint", record_id, 1)["status"] == "filed"
    with pytest.raises(NotFoundError, match="no version 3"):
        pantau.get_record(ppk, "complaint", record_id, 3)
    with pytest.raises(NotFoundError):
        pantau.get_record(ppk, "visit", record_id)


def test_the_nik_is_masked_for_everyone_but_kpu_admins_and_legal(pantau: PantauApplication) -> None:
    officer, kpu, auditor = actor(pantau, "pps"), actor(pantau, "kpu"), actor(pantau, "audit")
    body = correction_body()
    record_id = UUID(pantau.request_correction(officer, body, context(officer)).record["id"])

    assert pantau.get_record(officer, "correction", record_id)["nik"] == "************0007"
    assert pantau.get_record(auditor, "correction", record_id)["nik"] == "************0007"
    assert pantau.get_record(kpu, "correction", record_id)["nik"] == body["nik"]


# --- accounts and tokens -------------------------------------------------------------------


def test_a_token_works_until_it_expires_or_is_revoked(pantau: PantauApplication) -> None:
    issued = pantau.issue_token("kpu", "password-123", timedelta(hours=1), SYSTEM)
    expired = pantau.issue_token("kpu", "password-123", timedelta(seconds=-1), SYSTEM)

    assert pantau.actor_for_token(issued.token).username == "kpu"
    with pytest.raises(PermissionDeniedError, match="expired"):
        pantau.actor_for_token(expired.token)
    pantau.revoke_token(issued.actor, issued.token)
    with pytest.raises(PermissionDeniedError):
        pantau.actor_for_token(issued.token)


@pytest.mark.parametrize("token", ["", "x", "not-hex.secret", f"{UUID(int=0).hex}.secret", "a.b.c"])
def test_a_malformed_token_is_refused(token: str, pantau: PantauApplication) -> None:
    with pytest.raises(PermissionDeniedError):
        pantau.actor_for_token(token)


def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal(pantau: PantauApplication) -> None:
    with pytest.raises(PermissionDeniedError) as wrong:
        pantau.issue_token("kpu", "wrong-password", timedelta(hours=1), SYSTEM)
    with pytest.raises(PermissionDeniedError) as unknown:
        pantau.issue_token("nobody", "wrong-password", timedelta(hours=1), SYSTEM)

    assert str(wrong.value) == str(unknown.value)


def test_usernames_are_unique_regardless_of_case(pantau: PantauApplication) -> None:
    with pytest.raises(AlreadyExistsError):
        pantau.create_account("KPU", "password-123", "auditor", None, SYSTEM)


def test_the_password_hash_is_stored_and_the_password_is_not(pantau: PantauApplication) -> None:
    stored: Any = b"".join(n.state for n in pantau.recorder.select_notifications(start=1, limit=10_000))

    assert b"password-123" not in stored
    assert b"scrypt$" in stored


@pytest.mark.parametrize(
    ("role", "kind", "allowed"),
    [
        ("pps_officer", "PPS", True),
        ("pps_officer", "PPK", False),
        ("pps_officer", None, False),
        ("ppk_officer", "PPK", True),
        ("ppk_officer", "PPS", False),
        ("kpu_admin", None, True),
        ("kpu_admin", "PPS", False),
        ("auditor", None, True),
        ("legal", "PPK", False),
        ("superuser", None, False),
    ],
)
def test_each_role_is_granted_only_with_the_committee_kind_it_needs(role: str, kind: str | None, allowed: bool) -> None:
    if allowed:
        check_grant(role, kind)
    else:
        with pytest.raises(InvalidInputError):
            check_grant(role, kind)


def test_a_revoked_token_cannot_be_revoked_twice(pantau: PantauApplication) -> None:
    issued = pantau.issue_token("kpu", "password-123", timedelta(hours=1), SYSTEM)
    pantau.revoke_token(issued.actor, issued.token)

    with pytest.raises(TransitionNotAllowedError):
        pantau.revoke_token(issued.actor, issued.token)
