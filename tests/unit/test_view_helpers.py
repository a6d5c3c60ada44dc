"""The views' shared helpers: hand-made formatting and caches must agree with the library's answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.views import BoundedMemo, iso, parent_of, record_id

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC) | OFFSETS)


@settings(max_examples=2000, deadline=None)
@given(MOMENTS)
def test_iso_is_the_utc_isoformat_with_microseconds_and_z(moment: datetime) -> None:
    assert iso(moment) == moment.astimezone(UTC).isoformat(timespec="microseconds")[:26] + "Z"


def test_iso_converts_other_offsets_to_utc() -> None:
    jakarta = datetime(2026, 12, 2, 7, 0, tzinfo=timezone(timedelta(hours=7)))
    assert iso(jakarta) == "2026-12-02T00:00:00.000000Z"


def test_parent_of_answers_for_area_codes_only() -> None:
    assert parent_of("19.71.01.1004") == "19.71.01"
    assert parent_of("19.71.01") is None
    assert parent_of("not a code") is None
    assert parent_of(None) is None


@settings(max_examples=2000, deadline=None)
@given(st.uuids() | st.integers(0, 2**128 - 1).map(lambda n: UUID(int=n)))
def test_record_id_is_the_uuids_hyphenated_form(uuid: UUID) -> None:
    assert record_id(uuid) == str(uuid)
    assert record_id(uuid) == str(uuid)  # and again, from the memo


def test_a_memo_computes_once_and_empties_itself_when_full() -> None:
    calls: list[int] = []
    memo = BoundedMemo(lambda key: calls.append(key) or key * 2, limit=3)
    assert [memo[1], memo[1], memo[2], memo[3]] == [2, 2, 4, 6]
    assert calls == [1, 2, 3]
    assert memo[4] == 8 and len(memo) == 1  # full: emptied, then the new value kept
