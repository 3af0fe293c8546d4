"""Chunking a period into inclusive export ranges (docs/fusionpbx.md §2)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voipbill.errors import UsageError
from voipbill.fusionpbx import chunk_bounds


def test_a_day_in_six_hour_chunks_asks_each_second_once() -> None:
    day = 1_710_028_800  # 2024-03-10 00:00 UTC
    assert chunk_bounds(day, day + 86400, 6 * 3600) == [
        (day, day + 21599),
        (day + 21600, day + 43199),
        (day + 43200, day + 64799),
        (day + 64800, day + 86399),
    ]


def test_a_short_last_chunk_stops_one_second_before_the_period_end() -> None:
    assert chunk_bounds(100, 250, 100) == [(100, 199), (200, 249)]


def test_an_empty_range_has_no_chunks() -> None:
    assert chunk_bounds(500, 500, 60) == []


@pytest.mark.parametrize(("start", "end"), [(0, 86400), (-86400, 86400), (-100, -10)])
def test_a_range_reaching_epoch_zero_is_refused(start: int, end: int) -> None:
    with pytest.raises(UsageError, match="epoch 0"):
        chunk_bounds(start, end, 3600)


@given(
    start=st.integers(min_value=1, max_value=4_000_000_000),
    length=st.integers(min_value=1, max_value=40 * 86400),
    chunk_hours=st.integers(min_value=1, max_value=744),
)
def test_chunks_cover_the_period_exactly_once(start: int, length: int, chunk_hours: int) -> None:
    end = start + length
    bounds = chunk_bounds(start, end, chunk_hours * 3600)
    assert bounds[0][0] == start
    assert bounds[-1][1] == end - 1  # inclusive stop: the period end itself is not asked
    for (_, stop), (following, _) in itertools.pairwise(bounds):
        assert following == stop + 1  # no gap, no overlap
    assert all(1 <= a <= b and b - a + 1 <= chunk_hours * 3600 for a, b in bounds)
    assert sum(b - a + 1 for a, b in bounds) == length
    assert all(b - a + 1 == chunk_hours * 3600 for a, b in bounds[:-1])
