"""Factories for the query tests: experiments built in memory, as the store returns them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mled.entities import Experiment, MetricSummary

BASE = 1767225600  # 2026-01-01T00:00:00Z


def at(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def summary(key: str, values: Sequence[float]) -> MetricSummary:
    """The summary the store keeps for a history of ``values`` (min/max ignore NaN)."""
    finite = [v for v in values if not math.isnan(v)]
    return MetricSummary(
        key=key,
        last=values[-1],
        min=min(finite) if finite else None,
        max=max(finite) if finite else None,
        count=len(values),
        last_step=len(values) - 1,
        last_timestamp=float(BASE),
    )


def make_experiment(
    eid: str,
    *,
    name: str = "run",
    project: str = "vision",
    status: str = "finished",
    owner: str = "alice",
    created: float = BASE,
    started: float | None = BASE,
    ended: float | None = BASE + 60,
    group: str | None = None,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Sequence[float]] | None = None,
    tags: Mapping[str, str] | None = None,
    commit: str | None = None,
    branch: str | None = None,
) -> Experiment:
    """An experiment entity as the store would return it; metrics are given as histories."""
    summaries = {k: summary(k, v) for k, v in (metrics or {}).items()}
    source = None if commit is None and branch is None else {"commit": commit, "branch": branch}
    created_at = at(created)
    assert created_at is not None
    return Experiment(
        id=eid,
        project=project,
        name=name,
        status=status,
        owner=owner,
        created_at=created_at,
        started_at=at(started),
        ended_at=at(ended),
        group=group,
        params=dict(params or {}),
        metrics={k: s.last for k, s in summaries.items()},
        metric_summaries=summaries,
        tags=dict(tags or {}),
        source=source,
    )


def zoo_experiments() -> list[Experiment]:
    """A small, hand-made set of experiments that exercises every rule of the language."""
    nan = math.nan
    return [
        make_experiment(
            "e1",
            name="resnet-50",
            params={"lr": 0.001, "opt": "adam", "bs": 32, "flag": True, "cfg": {"a": 1}},
            metrics={"acc": [0.5, 0.91], "loss": [1.0, 0.2, 0.3]},
            tags={"team": "vision"},
            group="g1",
            commit="abc123",
            branch="main",
        ),
        make_experiment(
            "e2",
            name="ResNet-18",
            status="running",
            owner="bob",
            created=BASE + 86400,
            ended=None,
            params={"lr": "0.001", "opt": "sgd", "bs": "64", "flag": "true"},
            metrics={"acc": [0.7, nan], "loss": [nan]},
            tags={"team": "Vision"},
        ),
        make_experiment(
            "e3",
            name="école_50%",
            project="nlp",
            status="failed",
            created=BASE + 2 * 86400,
            started=BASE + 2 * 86400,
            ended=BASE + 2 * 86400 + 7200,
            params={"lr": "1e-3", "opt": "Adam", "bs": 16, "flag": False},
            metrics={"acc": [0.95]},
            tags={"team": "nlp", "note": "ÉCOLE"},
            group="g2",
        ),
        make_experiment(
            "e4",
            name="vit",
            project="nlp",
            status="killed",
            owner="Émile",
            created=BASE - 86400,
            started=None,
            ended=None,
            params={"lr": "fast", "opt": "adam"},
            tags={"note": "école"},
        ),
    ]
