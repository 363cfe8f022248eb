"""Compare experiments side by side: params (differences marked), metric summaries with the
best experiment per metric, and histories aligned on step.

Which way is better for a metric is guessed from its key: a key containing ``loss``,
``error``, ``err``, ``mae``, ``mse``, ``rmse``, ``perplexity``, ``time`` or ``latency``
(case-insensitive) is better lower, any other better higher. ``directions`` overrides the
guess per key with ``"min"`` or ``"max"`` (also ``"lower"``/``"higher"``,
``"minimize"``/``"maximize"``). The best experiment is the one with the best *last* value.

Example:
    >>> metric_direction("val/loss"), metric_direction("accuracy")
    ('min', 'max')
    >>> metric_direction("accuracy", {"accuracy": "lower"})
    'min'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from mled.auth.permissions import Action
from mled.entities import (
    AlignedHistory,
    Comparison,
    Experiment,
    MetricComparison,
    MetricHistory,
    ParamDiff,
)
from mled.errors import InvalidInput
from mled.service.authorization import authorize
from mled.service.context import ServiceContext
from mled.service.experiments import resolve
from mled.service.metrics import MetricService
from mled.store.sql import experiments as rows
from mled.store.sql import projects as project_rows
from mled.validation import encode_param

MAX_COMPARED = 100
LOWER_IS_BETTER = ("loss", "error", "err", "mae", "mse", "rmse", "perplexity", "time", "latency")
_DIRECTIONS = {
    "min": "min",
    "lower": "min",
    "minimize": "min",
    "max": "max",
    "higher": "max",
    "maximize": "max",
}


def metric_direction(key: str, directions: Mapping[str, str] | None = None) -> str:
    """``"min"`` when lower values of metric ``key`` are better, else ``"max"``.

    Example:
        >>> [metric_direction(k) for k in ("train_time", "f1", "RMSE")]
        ['min', 'max', 'min']
    """
    given = (directions or {}).get(key)
    if given is not None:
        direction = _DIRECTIONS.get(str(given).strip().lower())
        if direction is None:
            raise InvalidInput(
                f"direction {given!r} of metric {key!r} is not one of {', '.join(_DIRECTIONS)}"
            )
        return direction
    lowered = key.lower()
    return "min" if any(word in lowered for word in LOWER_IS_BETTER) else "max"


def param_diffs(experiments: Sequence[Experiment]) -> list[ParamDiff]:
    """Every param key of ``experiments``, sorted, with whether the values differ.

    Values are compared by type and canonical text, so ``1`` and ``1.0`` differ.

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> a = Experiment("a", "p", "a", "finished", "u", t, t, t, params={"lr": 0.1, "bs": 8})
        >>> b = Experiment("b", "p", "b", "finished", "u", t, t, t, params={"lr": 0.2, "bs": 8})
        >>> [(d.key, d.differs) for d in param_diffs([a, b])]
        [('bs', False), ('lr', True)]
    """
    keys = sorted({k for e in experiments for k in e.params})
    out = []
    for key in keys:
        values = {e.id: e.params[key] for e in experiments if key in e.params}
        encoded = {_canonical(v) for v in values.values()}
        out.append(ParamDiff(key, values, len(values) < len(experiments) or len(encoded) > 1))
    return out


def _canonical(value: Any) -> tuple[str, str]:
    vtype, text, _ = encode_param(value)
    return vtype, text


def metric_comparisons(
    experiments: Sequence[Experiment], directions: Mapping[str, str] | None = None
) -> list[MetricComparison]:
    """Every metric key, sorted, with each experiment's summary and the best experiment.

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> a = Experiment("a", "p", "a", "finished", "u", t, t, t, metrics={"loss": 0.3})
        >>> b = Experiment("b", "p", "b", "finished", "u", t, t, t, metrics={"loss": 0.2})
        >>> [(m.key, m.direction, m.best) for m in metric_comparisons([a, b])]
        [('loss', 'min', 'b')]
    """
    keys = sorted({k for e in experiments for k in e.metrics})
    out = []
    for key in keys:
        direction = metric_direction(key, directions)
        summaries = {
            e.id: e.metric_summaries[key] for e in experiments if key in e.metric_summaries
        }
        lasts = [(e.id, e.metrics[key]) for e in experiments if key in e.metrics]
        ranked = [(eid, v) for eid, v in lasts if not math.isnan(v)]
        best: tuple[str, float] | None = None
        for eid, value in ranked:
            if best is None or (value < best[1] if direction == "min" else value > best[1]):
                best = (eid, value)
        out.append(
            MetricComparison(
                key,
                direction,
                summaries,
                None if best is None else best[0],
                None if best is None else best[1],
            )
        )
    return out


def align(key: str, histories: Mapping[str, MetricHistory]) -> AlignedHistory:
    """Histories of one key (by experiment ID) on the union of their steps.

    Example:
        >>> h1 = MetricHistory("loss", [0, 2], [0.0, 0.0], [1.0, 0.5])
        >>> h2 = MetricHistory("loss", [1, 2], [0.0, 0.0], [0.9, 0.4])
        >>> aligned = align("loss", {"a": h1, "b": h2})
        >>> aligned.steps, aligned.values["a"], aligned.values["b"]
        ([0, 1, 2], [1.0, None, 0.5], [None, 0.9, 0.4])
    """
    by_step = {eid: dict(zip(h.steps, h.values, strict=True)) for eid, h in histories.items()}
    steps = sorted({s for points in by_step.values() for s in points})
    values = {eid: [points.get(s) for s in steps] for eid, points in by_step.items()}
    return AlignedHistory(key, steps, values)


class CompareService:
    """Compares experiments the acting user may read."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._metrics = MetricService(ctx)

    def compare(
        self,
        ids: Sequence[str],
        *,
        directions: Mapping[str, str] | None = None,
        histories: bool = True,
        max_points: int | None = None,
    ) -> Comparison:
        """Compare the experiments ``ids`` (full IDs or unique prefixes, in this order).

        ``directions`` overrides the guessed direction of metrics (``{"acc": "max"}``);
        ``histories`` adds the histories of the metric keys all of them have, aligned on
        step, each LTTB-downsampled to ``max_points`` when given.
        """
        if isinstance(ids, str) or not ids:
            raise InvalidInput("compare needs a list of experiment IDs")
        if len(ids) > MAX_COMPARED:
            raise InvalidInput(f"at most {MAX_COMPARED} experiments can be compared at once")
        if max_points is not None and max_points < 2:
            raise InvalidInput("max_points must be at least 2")

        def run(conn: Connection) -> list[Experiment]:
            pks: list[int] = []
            for ref in ids:
                key = resolve(conn, ref)
                project = project_rows.get_project_by_pk(conn, key.project_id)
                assert project is not None
                authorize(conn, self._ctx.actor, Action.READ, key.project_id, project.entity.name)
                if key.pk not in pks:
                    pks.append(key.pk)
            return rows.load_experiments(conn, pks)

        experiments = self._ctx.read(run)
        aligned: dict[str, AlignedHistory] = {}
        if histories:
            common = set.intersection(*(set(e.metric_summaries) for e in experiments))
            for key in sorted(common):
                found = {
                    e.id: self._metrics.history(e.id, key, max_points=max_points)
                    for e in experiments
                }
                aligned[key] = align(key, found)
        return Comparison(
            experiments=experiments,
            params=param_diffs(experiments),
            metrics=metric_comparisons(experiments, directions),
            histories=aligned,
        )
