"""Largest-Triangle-Three-Buckets downsampling of a series (Steinarsson, 2013).

Keeps the first and last points and, per bucket, the point that forms the largest triangle
with its neighbours, so peaks and troughs survive while a 1M-point curve shrinks to a few
thousand.

Example:
    >>> lttb_indices([0, 1, 2, 3, 4], [0.0, 5.0, 0.0, -5.0, 0.0], 3)
    [0, 1, 4]
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def lttb_indices(xs: Sequence[float], ys: Sequence[float], threshold: int) -> list[int]:
    """Indices of the points to keep (ascending); all of them when ``threshold`` >= len."""
    n = len(xs)
    if threshold >= n or n <= 2:
        return list(range(n))
    if threshold < 3:
        return [0, n - 1][: max(threshold, 1)] if threshold >= 1 else []
    kept = [0]
    every = (n - 2) / (threshold - 2)
    a = 0
    for i in range(threshold - 2):
        start, end = int(i * every) + 1, int((i + 1) * every) + 1
        nstart, nend = end, min(int((i + 2) * every) + 1, n)
        avg_x, avg_y = _mean(xs, ys, nstart, nend)
        ax, ay = xs[a], _y(ys[a])
        best, best_area = start, -1.0
        for j in range(start, end):
            area = abs((ax - avg_x) * (_y(ys[j]) - ay) - (ax - xs[j]) * (avg_y - ay))
            if area > best_area:
                best, best_area = j, area
        kept.append(best)
        a = best
    kept.append(n - 1)
    return kept


def _y(v: float) -> float:
    # NaN or infinite values would poison the areas; they count as 0 for selection only.
    return v if math.isfinite(v) else 0.0


def _mean(xs: Sequence[float], ys: Sequence[float], start: int, end: int) -> tuple[float, float]:
    count = max(end - start, 1)
    return (
        sum(xs[start:end]) / count,
        sum(_y(v) for v in ys[start:end]) / count,
    )
