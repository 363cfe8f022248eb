"""Specs of experiments that already ran, from the friendly forms ``log_experiment`` takes.

``Client.log_experiment`` builds one spec from keyword arguments; ``Client.log_experiments``
builds one per entry of a list of mappings, naming the entry in every error.

Example:
    >>> spec = already_ran_spec("vision", "resnet", metrics={"loss": [0.9, 0.5]},
    ...                         started_at=0.0)
    >>> spec.metrics["loss"]
    ([0, 1], [0.0, 0.0], [0.9, 0.5])
"""

from __future__ import annotations

import difflib
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from mled.entities import NewExperiment, Series
from mled.errors import InvalidInput, InvalidMetricValue, MledError
from mled.ids import new_id
from mled.sdk.timeparse import to_epoch
from mled.validation import metric_step, metric_value

DEFAULT_PROJECT = "default"


class AlreadyRanFields(TypedDict, total=False):
    """The keyword arguments of ``log_experiment`` after ``project`` and ``name``."""

    params: Mapping[str, Any] | None
    metrics: Mapping[str, Any] | None
    tags: Mapping[str, Any] | None
    started_at: object
    ended_at: object
    status: str
    group: str | None
    notes: str
    source: dict[str, Any] | None
    command: dict[str, Any] | None
    environment: dict[str, Any] | None
    seeds: dict[str, Any] | None
    id: str | None


ENTRY_FIELDS = ("project", "name", *AlreadyRanFields.__annotations__)
"""The keys an entry of ``log_experiments`` may hold."""


def already_ran_spec(
    project: str = DEFAULT_PROJECT, name: str | None = None, **fields: Unpack[AlreadyRanFields]
) -> NewExperiment:
    """The spec of one experiment that already ran (see ``Client.log_experiment``).

    A keyword it does not know is refused with the nearest known one, as a typo would
    otherwise drop what it names without a word.
    """
    _refuse_unknown(fields, AlreadyRanFields.__annotations__)
    start = to_epoch(fields.get("started_at"), "started_at")
    end = to_epoch(fields.get("ended_at"), "ended_at")
    default_ts = end if end is not None else start
    return NewExperiment(
        project=project,
        name=name or default_name(),
        params=dict(fields.get("params") or {}),
        tags=dict(fields.get("tags") or {}),
        status=fields.get("status", "finished"),
        group=fields.get("group"),
        notes=fields.get("notes", ""),
        started_at=start,
        ended_at=end,
        source=fields.get("source"),
        command=fields.get("command"),
        environment=fields.get("environment"),
        seeds=fields.get("seeds"),
        metrics=metric_series(fields.get("metrics") or {}, default_ts),
        id=fields.get("id"),
    )


def entry_spec(index: int, entry: Mapping[str, Any], project: str) -> NewExperiment:
    """The spec of entry ``index`` of a ``log_experiments`` list, with its ID fixed now.

    An error names the entry (``experiment 3: ...``) and keeps its code and hint.

    Example:
        >>> entry_spec(0, {"name": "a", "params": {"lr": 0.1}}, "vision").params
        {'lr': 0.1}
        >>> entry_spec(1, {"parms": {}}, "vision")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        mled.errors.InvalidInput: experiment 1: unknown field 'parms'; did you mean 'params'? ...
    """
    if not isinstance(entry, Mapping):
        raise InvalidInput(
            f"experiment {index}: expected a mapping of fields, got {type(entry).__name__}",
            hint="Give each experiment as a dict such as {'name': 'a', 'params': {...}}.",
        )
    try:
        _refuse_unknown(entry, ENTRY_FIELDS)
        fields = dict(entry)
        spec = already_ran_spec(fields.pop("project", project), fields.pop("name", None), **fields)
    except MledError as err:
        raise err.about_item(index) from err
    return spec if spec.id is not None else replace(spec, id=new_id())


def _refuse_unknown(fields: Mapping[Any, Any], known: Iterable[str]) -> None:
    names = list(known)
    for key in fields:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidInput(
                f"unknown field {str(key)!r}{guess}",
                hint="Fields: " + ", ".join(names) + ".",
                details={"field": str(key)},
            )


def default_name() -> str:
    """The name of an experiment given none: the running script's stem, else "experiment"."""
    main = sys.argv[0] if sys.argv and sys.argv[0] else ""
    stem = Path(main).stem if main and main not in {"-c", "-"} else ""
    return stem or "experiment"


def metric_series(metrics: Mapping[str, Any], default_ts: float | None) -> dict[str, Series]:
    """Turn the friendly ``log_experiment`` metric forms into (steps, timestamps, values).

    Example:
        >>> metric_series({"acc": 0.9, "loss": [(0, 0.8), (5, 0.4, 12.0)]}, 10.0)
        {'acc': ([0], [10.0], [0.9]), 'loss': ([0, 5], [10.0, 12.0], [0.8, 0.4])}
    """
    ts0 = default_ts if default_ts is not None else time.time()
    out: dict[str, Series] = {}
    for key, raw in metrics.items():
        if isinstance(raw, str | bytes) or not isinstance(raw, Sequence):
            out[key] = ([0], [ts0], [metric_value(key, raw)])
            continue
        out[key] = _history(key, raw, ts0)
    return out


def _history(key: str, raw: Sequence[Any], ts0: float) -> Series:
    steps: list[int] = []
    stamps: list[float] = []
    values: list[float] = []
    for i, item in enumerate(raw):
        if isinstance(item, tuple | list):
            if len(item) not in (2, 3):
                raise InvalidMetricValue(
                    f"metric {key!r}: {item!r} is not (step, value) or (step, value, timestamp)"
                )
            steps.append(metric_step(key, item[0]))
            values.append(metric_value(key, item[1]))
            stamps.append(float(item[2]) if len(item) == 3 else ts0)
        else:
            steps.append(i)
            values.append(metric_value(key, item))
            stamps.append(ts0)
    if not steps:
        raise InvalidInput(f"metric {key!r} has an empty history")
    return steps, stamps, values
