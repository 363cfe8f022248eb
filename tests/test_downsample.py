"""LTTB downsampling: size, endpoints, order, peaks; NaN and infinities do not break it."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mled.downsample import lttb_indices


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=400),
    st.integers(3, 100),
)
def test_keeps_threshold_points_in_order_with_both_ends(
    values: list[float], threshold: int
) -> None:
    xs = list(range(len(values)))
    kept = lttb_indices(xs, values, threshold)
    assert kept[0] == 0
    assert kept[-1] == len(values) - 1
    assert kept == sorted(set(kept))
    assert len(kept) == min(threshold, len(values))


def test_a_spike_survives() -> None:
    values = [math.sin(i / 20) for i in range(10_000)]
    values[6_789] = 1_000.0
    assert 6_789 in lttb_indices(list(range(10_000)), values, 200)


@pytest.mark.parametrize(("n", "threshold"), [(5, 10), (5, 5), (2, 1), (0, 3)])
def test_short_series_are_kept_whole(n: int, threshold: int) -> None:
    assert lttb_indices(list(range(n)), [0.0] * n, threshold) == list(range(n))


@pytest.mark.parametrize(("threshold", "expected"), [(2, [0, 9]), (1, [0]), (0, [])])
def test_tiny_thresholds(threshold: int, expected: list[int]) -> None:
    assert lttb_indices(list(range(10)), [float(i) for i in range(10)], threshold) == expected
