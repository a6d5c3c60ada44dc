"""The Dispute aggregate in memory: its lifecycle, its named refusals, and the timeline it keeps."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from server.domain.dispute import Dispute, DuplicateEvidenceError
from server.domain.errors import InvalidInputError, StaleVersionError, TransitionNotAllowedError

LEGAL = {"actor": "legal", "role": "legal", "submission_id": None, "device_time": None, "location": None}
PHOTO = "ab" * 32


def a_dispute(**overrides: Any) -> Dispute:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "title": "Sengketa netralitas PPS Semabung Lama",
        "summary": "Pengadu menyatakan anggota PPS hadir di acara kampanye.",
        "subjects": [{"kind": "complaint", "id": str(uuid.uuid4())}],
        "committees": ["19.71.01.1004"],
        "fingerprint": "f" * 64,
        "context": LEGAL,
    }
    values.update(overrides)
    return Dispute.open(**values)


def test_an_opened_dispute_is_open_and_names_its_subjects_and_opener() -> None:
    subject = {"kind": "visit", "id": str(uuid.uuid4()).upper()}

    dispute = a_dispute(subjects=[subject])

    assert dispute.status == "open"
    assert dispute.version == 1
    assert dispute.opened_by == "legal"
    assert dispute.subjects == [{"kind": "visit", "id": subject["id"].lower()}]


@pytest.mark.parametrize(
    "subjects",
    [
        [],
        [{"kind": "account", "id": str(uuid.uuid4())}],
        [{"kind": "visit", "id": "not-a-uuid"}],
        [{"kind": "visit", "id": "7f8c2c8e-0000-4000-8000-000000000001"}] * 2,
    ],
    ids=["none", "unknown kind", "bad id", "repeated"],
)
def test_a_dispute_cannot_be_opened_over_subjects_it_would_not_understand(subjects: list[dict[str, str]]) -> None:
    with pytest.raises(InvalidInputError):
        a_dispute(subjects=subjects)


def test_a_dispute_walks_from_open_through_ruling_to_closed_and_back() -> None:
    dispute = a_dispute()

    dispute.add_note(text="Saksi dihubungi.", context=LEGAL)
    dispute.attach_evidence(description="Foto acara", sha256=PHOTO, size=2048, media_type="image/jpeg", context=LEGAL)
    dispute.record_ruling(outcome="upheld", ruling="Anggota PPS diberi teguran tertulis.", context=LEGAL)
    assert dispute.status == "ruled"
    assert dispute.ruling is not None and dispute.ruling["outcome"] == "upheld"
    dispute.close(reason="Putusan dilaksanakan.", context=LEGAL)
    assert dispute.status == "closed"
    dispute.reopen(reason="Banding diajukan.", context=LEGAL)

    assert dispute.status == "reopened"
    assert dispute.ruling is None, "a reopened dispute has no ruling in force"
    assert len(dispute.rulings) == 1, "but the earlier ruling stays in its history"
    assert dispute.version == 6


def test_every_timeline_entry_says_who_at_which_version_and_when() -> None:
    dispute = a_dispute()

    dispute.add_note(text="Catatan", context=LEGAL)

    note = dispute.notes[0]
    assert note["text"] == "Catatan"
    assert note["by"] == "legal"
    assert note["version"] == 2
    assert note["at"] == dispute.modified_on.isoformat()


def test_an_open_dispute_may_be_closed_without_a_ruling() -> None:
    dispute = a_dispute()

    dispute.close(reason="Pengadu mencabut aduan.", context=LEGAL)

    assert dispute.status == "closed"
    assert dispute.ruling is None


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (lambda d: d.add_note(text="x", context=LEGAL), "Cannot add a note to a dispute that is closed"),
        (lambda d: d.record_ruling(outcome="rejected", ruling="x", context=LEGAL), "Cannot record a ruling on"),
        (lambda d: d.close(reason="x", context=LEGAL), "Cannot close a dispute that is closed"),
        (
            lambda d: d.attach_evidence(
                description="", position=3, aggregate_id="a", aggregate_version=1, context=LEGAL
            ),
            "Cannot attach evidence to",
        ),
    ],
    ids=["note", "ruling", "close", "evidence"],
)
def test_a_closed_dispute_refuses_every_step_but_reopening(step: Any, message: str) -> None:
    dispute = a_dispute()
    dispute.close(reason="Selesai.", context=LEGAL)

    with pytest.raises(TransitionNotAllowedError, match=message):
        step(dispute)


def test_a_ruled_dispute_cannot_be_ruled_again_until_reopened() -> None:
    dispute = a_dispute()
    dispute.record_ruling(outcome="rejected", ruling="Tidak terbukti.", context=LEGAL)

    with pytest.raises(TransitionNotAllowedError, match="that is ruled"):
        dispute.record_ruling(outcome="upheld", ruling="Terbukti.", context=LEGAL)


def test_an_open_dispute_cannot_be_reopened() -> None:
    with pytest.raises(TransitionNotAllowedError, match="allowed only when closed"):
        a_dispute().reopen(reason="x", context=LEGAL)


def test_a_ruling_names_a_known_outcome() -> None:
    with pytest.raises(InvalidInputError):
        a_dispute().record_ruling(outcome="maybe", ruling="x", context=LEGAL)


def test_evidence_is_an_attachment_or_an_event_but_not_both_or_neither() -> None:
    dispute = a_dispute()

    with pytest.raises(InvalidInputError):
        dispute.attach_evidence(description="", context=LEGAL)
    with pytest.raises(InvalidInputError):
        dispute.attach_evidence(description="", sha256=PHOTO, size=1, media_type="image/png", position=1, context=LEGAL)


def test_an_event_named_as_evidence_keeps_its_aggregate_id_and_version_beside_its_position() -> None:
    dispute = a_dispute()
    record_id = str(uuid.uuid4())

    dispute.attach_evidence(
        description="Aduan asli", position=7, aggregate_id=record_id, aggregate_version=1, context=LEGAL
    )

    item = dispute.evidence[0]
    assert (item["kind"], item["position"], item["aggregate_id"], item["aggregate_version"]) == (
        "event",
        7,
        record_id,
        1,
    )


def test_the_same_evidence_cannot_be_attached_twice() -> None:
    dispute = a_dispute()
    dispute.attach_evidence(description="", sha256=PHOTO, size=10, media_type="image/png", context=LEGAL)

    with pytest.raises(DuplicateEvidenceError):
        dispute.attach_evidence(description="lagi", sha256=PHOTO, size=10, media_type="image/png", context=LEGAL)


def test_a_step_against_an_older_version_is_stale() -> None:
    dispute = a_dispute()
    dispute.add_note(text="Pertama", context=LEGAL)

    with pytest.raises(StaleVersionError, match="version 2, not 1"):
        dispute.check_version(1)


def test_a_refused_step_records_no_event() -> None:
    dispute = a_dispute()
    dispute.collect_events()

    with pytest.raises(TransitionNotAllowedError):
        dispute.reopen(reason="x", context=LEGAL)

    assert dispute.collect_events() == []
    assert dispute.version == 1
