"""The audit line's NIK masking: the cheap pre-check never lets a maskable digit run through."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from hypothesis import example, given, settings
from hypothesis import strategies as st

from projections.views import summaries
from projections.views.summaries import DIGIT_RUN, _mask_digits, clean, may_hold_digit_run, summary
from server.domain.complaint import Complaint

# Digits, every separator the mask allows, other ASCII, and other scripts' digits and spaces.
PIECES = st.sampled_from(["0", "7", "19", "3174", ".", "-", " ", "\t", "\x1c", ":", "/", "a", "NIK ", "٣", "\u00a0"])
LINES = st.lists(PIECES, max_size=60).map("".join)


@settings(max_examples=3000, deadline=None)
@given(LINES)
@example("Correction rejected: NIK 1971014403000237 salah")
@example("1971 0144 0300 0237")
@example("19.71.01.1004: 12.3")
def test_the_pre_check_passes_every_line_the_mask_would_change(line: str) -> None:
    if DIGIT_RUN.search(line):
        assert may_hold_digit_run(line)


@settings(max_examples=1000, deadline=None)
@given(LINES)
def test_clean_masks_exactly_what_the_digit_run_pattern_finds(line: str) -> None:
    expected = DIGIT_RUN.sub(_mask_digits, " ".join(line.split()))
    assert clean(line) == (expected if len(expected) <= 200 else expected[:199] + "…")


def test_a_visit_line_skips_the_pattern_and_a_nik_does_not() -> None:
    assert not may_hold_digit_run("Visit recorded at 19.71.01.1004: readiness 4/8 (checklist v1), 2 follow-up(s)")
    assert clean("NIK 1971-0144-0300-0237 pindah") == "NIK ************0237 pindah"


def _acknowledged(note: str) -> Any:
    complaint = Complaint(id=uuid4(), committee="19.71.01.1004", category="logistics", description="x",
                          complainant=None, fingerprint="f", context={"actor": "a"})
    complaint.acknowledge(note=note, context={"actor": "a"})
    return complaint.collect_events()[-1]


def test_a_line_seen_before_is_masked_again() -> None:
    event = _acknowledged("NIK 1971014403000237\nsalah")
    first, second = summary(event), summary(event)
    assert first == second == "Complaint acknowledged: NIK ************0237 salah"


def test_the_cleaned_lines_memo_stays_bounded() -> None:
    limit = summaries._cleaned._limit
    for n in range(limit + 10):
        summary(_acknowledged(f"catatan {n}"))
    assert 0 < len(summaries._cleaned) <= limit
