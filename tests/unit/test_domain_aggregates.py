"""Aggregate rules in isolation: complaint lifecycle, correction four eyes and NIK, visit amendments."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from server.domain.checklist import CURRENT_CHECKLIST_VERSION, checklist
from server.domain.committee import kind_of, parent_code
from server.domain.complaint import Complaint
from server.domain.correction import RegistrationCorrection, check_nik, mask_nik
from server.domain.errors import InvalidInputError, PermissionDeniedError, StaleVersionError, TransitionNotAllowedError
from server.domain.visit import MonitoringVisit

PPS = "19.71.01.1004"


def by(actor: str) -> dict[str, Any]:
    return {"actor": actor, "role": "test", "submission_id": None, "device_time": None, "location": None}


def new_complaint() -> Complaint:
    return Complaint(uuid.uuid4(), PPS, "neutrality", "Kampanye", None, "fp", by("pps"))


def new_correction(requested_by: str = "pps") -> RegistrationCorrection:
    return RegistrationCorrection(
        uuid.uuid4(),
        PPS,
        "add_to_dptb",
        "1971014403900007",
        "Siti",
        "TPS 003",
        "TPS 901",
        None,
        "",
        "fp",
        by(requested_by),
    )


def new_visit() -> MonitoringVisit:
    answers = dict.fromkeys(checklist(CURRENT_CHECKLIST_VERSION).keys(), True)
    return MonitoringVisit(uuid.uuid4(), PPS, CURRENT_CHECKLIST_VERSION, answers, "", ["Ramp TPS 3"], "fp", by("pps"))


# --- complaints ------------------------------------------------------------------------------


def test_a_complaint_walks_its_whole_lifecycle() -> None:
    complaint = new_complaint()
    complaint.acknowledge(note="", context=by("ppk"))
    complaint.investigate(note="", context=by("ppk"))
    complaint.escalate(target="bawaslu", reason="Pelanggaran", context=by("ppk"))
    complaint.resolve(reason="Selesai", context=by("kpu"))
    complaint.reopen(reason="Bukti baru", context=by("ppk"))
    complaint.investigate(note="", context=by("ppk"))
    complaint.dismiss(reason="Tidak terbukti", context=by("kpu"))

    assert (complaint.status, complaint.version, complaint.last_changed_by) == ("dismissed", 8, "kpu")
    assert complaint.escalated_to == "bawaslu"


@pytest.mark.parametrize(
    ("steps", "forbidden"),
    [
        ([], "investigate"),
        ([], "resolve"),
        (["acknowledge"], "acknowledge"),
        (["acknowledge"], "escalate"),
        (["dismiss"], "acknowledge"),
        (["dismiss"], "dismiss"),
    ],
)
def test_a_forbidden_complaint_step_changes_nothing(steps: list[str], forbidden: str) -> None:
    complaint = new_complaint()
    arguments = {
        "acknowledge": {"note": ""},
        "investigate": {"note": ""},
        "escalate": {"target": "legal", "reason": "x"},
        "resolve": {"reason": "x"},
        "dismiss": {"reason": "x"},
    }
    for step in steps:
        getattr(complaint, step)(**arguments[step], context=by("ppk"))
    version = complaint.version

    with pytest.raises(TransitionNotAllowedError, match=f"Cannot {forbidden}"):
        getattr(complaint, forbidden)(**arguments[forbidden], context=by("ppk"))

    assert complaint.version == version
    assert complaint.collect_events()[-1].originator_version == version


def test_a_complaint_cannot_be_escalated_to_an_unknown_body() -> None:
    complaint = new_complaint()
    complaint.acknowledge(note="", context=by("ppk"))
    complaint.investigate(note="", context=by("ppk"))

    with pytest.raises(InvalidInputError):
        complaint.escalate(target="dpr", reason="x", context=by("ppk"))


def test_check_version_names_the_last_changer() -> None:
    complaint = new_complaint()
    complaint.acknowledge(note="", context=by("ppk"))

    with pytest.raises(StaleVersionError, match="last changed by ppk"):
        complaint.check_version(1)
    complaint.check_version(2)
    complaint.check_version(None)


# --- corrections -----------------------------------------------------------------------------


def test_a_correction_is_verified_then_approved_by_someone_else() -> None:
    correction = new_correction()
    correction.verify(note="", context=by("pps"))
    correction.approve(reason="Sesuai", context=by("ppk"))

    assert (correction.status, correction.verified_by, correction.decided_by) == ("approved", "pps", "ppk")


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_correction_cannot_be_decided_by_its_requester(decision: str) -> None:
    correction = new_correction(requested_by="kpu")
    correction.verify(note="", context=by("pps"))

    with pytest.raises(PermissionDeniedError, match="requested it"):
        getattr(correction, decision)(reason="x", context=by("kpu"))
    assert correction.status == "verified"


def test_a_correction_cannot_be_approved_before_verification_but_can_be_rejected() -> None:
    correction = new_correction()

    with pytest.raises(TransitionNotAllowedError, match="Cannot approve"):
        correction.approve(reason="x", context=by("ppk"))
    correction.reject(reason="Dokumen tidak lengkap", context=by("ppk"))
    assert correction.status == "rejected"


@pytest.mark.parametrize(
    "nik",
    ["197101440390000", "19710144039000071", "19710144039O0007", "1971014403900007\n", "", " 1971014403900007"],
)
def test_a_nik_is_exactly_sixteen_ascii_digits(nik: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        check_nik(nik)
    assert nik.strip() not in str(raised.value) or not nik.strip()


def test_a_nik_in_other_scripts_digits_is_refused() -> None:
    for zero in (0xFF10, 0x0660, 0x0966):
        with pytest.raises(InvalidInputError):
            check_nik("".join(chr(zero + int(d)) for d in "1971014403900007"))


def test_a_masked_nik_shows_only_its_last_four_digits() -> None:
    assert mask_nik("1971014403900007") == "************0007"


@pytest.mark.parametrize(
    ("kind", "target_tps", "tms_reason", "field"),
    [
        ("add_to_dptb", None, None, "target_tps"),
        ("move_tps", "", None, "target_tps"),
        ("mark_tms", None, None, "tms_reason"),
        ("mark_tms", None, "abducted", "tms_reason"),
        ("fix_personal_data", None, "deceased", "tms_reason"),
        ("teleport", None, None, "kind"),
    ],
)
def test_a_correction_request_needs_what_its_kind_needs(
    kind: str, target_tps: str | None, tms_reason: str | None, field: str
) -> None:
    with pytest.raises(InvalidInputError) as raised:
        RegistrationCorrection.check_request(kind, "1971014403900007", target_tps, tms_reason)
    assert raised.value.field == field


# --- visits ----------------------------------------------------------------------------------


def test_a_visit_amendment_keeps_its_reason_and_author() -> None:
    visit = new_visit()
    visit.amend(
        reason="Salah ketik", checklist=None, findings="Diralat", follow_ups=["Cek logistik"], context=by("ppk")
    )

    assert visit.findings == "Diralat"
    assert [f["text"] for f in visit.follow_ups] == ["Ramp TPS 3", "Cek logistik"]
    assert visit.amendments == [{"reason": "Salah ketik", "by": "ppk", "version": 2}]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"reason": "  ", "findings": "x"}, "needs a reason"),
        ({"reason": "x"}, "must change"),
        ({"reason": "x", "checklist": {"made_up": True}}, "has no item"),
        ({"reason": "x", "checklist": {"dpt_announced": False}}, "not answered"),
    ],
)
def test_a_visit_amendment_is_refused_without_a_reason_a_change_or_a_whole_checklist(
    changes: dict[str, Any], message: str
) -> None:
    visit = new_visit()
    arguments = {"checklist": None, "findings": None, "follow_ups": None, **changes}

    with pytest.raises(InvalidInputError, match=message):
        visit.amend(**arguments, context=by("pps"))
    assert visit.version == 1


def test_a_follow_up_is_resolved_once_and_then_the_visit_is_closed() -> None:
    visit = new_visit()
    visit.resolve_follow_up(index=0, resolution="Ramp dipasang", context=by("pps"))

    assert visit.status == "closed"
    with pytest.raises(TransitionNotAllowedError):
        visit.resolve_follow_up(index=0, resolution="lagi", context=by("pps"))
    with pytest.raises(InvalidInputError):
        visit.resolve_follow_up(index=1, resolution="x", context=by("pps"))


# --- committees ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind", "parent"),
    [("19.71.01", "PPK", None), ("19.71.01.1004", "PPS", "19.71.01")],
)
def test_a_committee_code_tells_its_kind_and_parent(code: str, kind: str, parent: str | None) -> None:
    assert (kind_of(code), parent_code(code)) == (kind, parent)


@pytest.mark.parametrize("code", ["19.71", "19.71.01.100", "Semabung", "19.71.01.1004.1"])
def test_a_malformed_committee_code_is_refused(code: str) -> None:
    with pytest.raises(InvalidInputError):
        kind_of(code)
