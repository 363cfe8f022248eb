"""The data and queries of the ``search`` benchmark, shared by both sides (stdlib only).

Experiment ``i`` of ``n`` has 20 params ``p0``..``p19`` (every fourth, ``p3``, ``p7``, ...,
one of the letters ``a``-``e``; the others floats in [0, 1)), 10 final metrics ``m0``..``m9``
(floats in [0, 1), one point each) and 5 tags ``t0``..``t4`` (one of ``vision``, ``nlp``,
``rl``, ``audio``). The values come from ``random.Random(seed)``, so both sides store exactly
the same experiments in the same order.

Queries (MLED query language / MLflow ``search_runs`` arguments):

- q1: ``metrics.m0 > 0.5 and params.p3 = 'a'`` ordered by ``metrics.m1 desc``, limit 100;
- q2: no filter, the first 1,000 (newest first);
- q3: no filter, every experiment, page by page;
- q4: ``tags.t0 = 'vision'`` and a creation-time window covering the middle fifth of the
  experiments: about 5% of them, returned whole (params, metrics, tags).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

PARAMS = 20
METRICS = 10
TAGS = 5
TAG_VALUES = ("vision", "nlp", "rl", "audio")
LETTERS = "abcde"
SEED = 20261126

Q1_FILTER = "metrics.m0 > 0.5 and params.p3 = 'a'"
Q1_ORDER = "metrics.m1 desc"
Q1_LIMIT = 100
Q2_LIMIT = 1_000
Q4_TAG = "tags.t0 = 'vision'"
WINDOW = (0.4, 0.6)
"""q4's creation-time window, as fractions of the experiments in insertion order."""


@dataclass(frozen=True)
class Row:
    """One generated experiment."""

    index: int
    params: dict[str, float | str]
    metrics: dict[str, float]
    tags: dict[str, str]

    @property
    def name(self) -> str:
        return f"run-{self.index}"


def rows(n: int, seed: int = SEED) -> Iterator[Row]:
    """The ``n`` experiments, in insertion order."""
    rnd = random.Random(seed)
    for i in range(n):
        params: dict[str, float | str] = {}
        for k in range(PARAMS):
            params[f"p{k}"] = rnd.choice(LETTERS) if k % 4 == 3 else rnd.random()
        metrics = {f"m{k}": rnd.random() for k in range(METRICS)}
        tags = {f"t{k}": rnd.choice(TAG_VALUES) for k in range(TAGS)}
        yield Row(i, params, metrics, tags)


def expected_q1(all_rows: list[Row]) -> list[int]:
    """Indexes q1 returns, in order (ties, which random floats never have, aside)."""
    hits = [r for r in all_rows if r.metrics["m0"] > 0.5 and r.params["p3"] == "a"]
    hits.sort(key=lambda r: r.metrics["m1"], reverse=True)
    return [r.index for r in hits[:Q1_LIMIT]]


def window_indexes(n: int) -> tuple[int, int]:
    """First and last index (inclusive) of q4's creation-time window."""
    return int(n * WINDOW[0]), int(n * WINDOW[1]) - 1


def expected_q4(all_rows: list[Row]) -> set[int]:
    lo, hi = window_indexes(len(all_rows))
    return {r.index for r in all_rows[lo : hi + 1] if r.tags["t0"] == "vision"}


@dataclass(frozen=True)
class SearchWorkload:
    """Sizes of the ``search`` benchmark.

    MLED runs at ``experiments`` and at ``equal``; MLflow only at ``equal``, because loading
    it one run at a time (its only write path) takes minutes per 10,000 runs. ``create_one``
    experiments are created one ``log_experiment`` call at a time to measure that rate.
    """

    experiments: int = 100_000
    equal: int = 10_000
    create_one: int = 2_000
    repeat: int = 5
    rounds: int = 25
    """MLED's q1, q2 and q4 run this many times each, interleaved (q1, q2, q4, q1, ...), so
    their medians span several seconds of this machine's drifting speed rather than one
    stretch of a tenth of a second (MLflow's and q3's take seconds: ``repeat`` suffices)."""
