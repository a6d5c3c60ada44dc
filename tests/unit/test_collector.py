"""fewer_collections: the young-generation threshold is raised for the block and restored by the last
block to end, whatever the order in which threads leave, and also when the block raises."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from projections import collector
from projections.collector import YOUNG_THRESHOLD, fewer_collections


@pytest.fixture(autouse=True)
def default_threshold() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*before)


def test_the_block_raises_the_young_threshold_and_restores_all_three(default_threshold: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_threshold


def test_a_block_that_raises_still_restores(default_threshold: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failed batch")
    assert gc.get_threshold() == default_threshold


def test_a_higher_threshold_set_by_someone_else_is_kept() -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 2, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2


def test_overlapping_blocks_in_two_threads_restore_only_when_the_last_ends(
    default_threshold: tuple[int, int, int],
) -> None:
    entered, second_may_leave = threading.Event(), threading.Event()
    seen: list[tuple[int, int, int]] = []

    def second() -> None:
        with fewer_collections():
            entered.set()
            second_may_leave.wait(10)
            seen.append(gc.get_threshold())

    thread = threading.Thread(target=second)
    with fewer_collections():  # the first block: entered before the second, left before it
        thread.start()
        assert entered.wait(10)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD  # the second is still inside
    second_may_leave.set()
    thread.join(10)
    assert seen == [(YOUNG_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == default_threshold
    assert collector._users == 0
