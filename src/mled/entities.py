"""Domain objects returned by the service layer: frozen, framework-free dataclasses (all but
``MetricSummary``, see there).

Table rows (``mled.store.sql.tables``) and API schemas are separate types; each is converted
to these in exactly one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple, TypeVar, overload

T = TypeVar("T")

STATUSES = ("running", "finished", "failed", "killed")
"""Every experiment status. ``running`` is the only non-terminal one."""

Series = tuple[Sequence[int], Sequence[float], Sequence[float]]
"""One metric key's points in a batch: (steps, timestamps, values), equal lengths."""


def to_datetime(ts: float | None) -> datetime | None:
    """Convert stored epoch seconds to an aware UTC datetime."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


class MetricPoint(NamedTuple):
    """One logged metric value. ``timestamp`` is epoch seconds (UTC)."""

    step: int
    timestamp: float
    value: float


# Not frozen, unlike the other entities: loading 100,000 experiments builds a million of these,
# and a frozen dataclass's __init__ takes five times as long. Treat it as read-only all the same.
@dataclass(slots=True)
class MetricSummary:
    """Per-key summary kept for fast filtering: last value and extremes over non-NaN values."""

    key: str
    last: float
    min: float | None
    max: float | None
    count: int
    last_step: int
    last_timestamp: float


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    is_admin: bool
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Experiment:
    """One execution of an ML experiment (a "run" elsewhere), identified by a UUIDv7.

    ``params`` holds typed values; ``metrics`` the last value of every metric key;
    ``source`` the code version (git), ``environment`` the interpreter, packages and machine,
    ``command`` the command line and entry point.
    """

    id: str
    project: str
    name: str
    status: str
    owner: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    group: str | None = None
    parent_id: str | None = None
    notes: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    metric_summaries: dict[str, MetricSummary] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    source: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    seeds: dict[str, Any] | None = None
    error: str | None = None
    reproduction_of: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds between start and end, or None while running or when unknown."""
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One link of the append-only, hash-chained audit log."""

    seq: int
    time: float
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """What `mled audit verify` found wrong, naming the first bad event or chunk."""

    kind: str
    seq: int | None
    message: str
    experiment_id: str | None = None
    metric: str | None = None


@dataclass(frozen=True, slots=True)
class AuditReport:
    ok: bool
    events_checked: int
    chunks_checked: int
    problems: list[AuditProblem]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of results and the opaque token of the next page (None at the end)."""

    items: list[T]
    next_page_token: str | None = None


def same_metric_value(a: float, b: float) -> bool:
    """Equality that treats NaN as equal to NaN (for round-trip checks)."""
    return (math.isnan(a) and math.isnan(b)) or a == b


@dataclass(frozen=True)
class NewExperiment:
    """Everything known when an experiment is created.

    ``status="running"`` starts a live experiment; a terminal status records one that already
    ran (its ``started_at``/``ended_at`` are given by the user).
    """

    project: str
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, Any] = field(default_factory=dict)
    status: str = "running"
    group: str | None = None
    parent_id: str | None = None
    notes: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    source: dict[str, Any] | None = None
    command: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None
    seeds: dict[str, Any] | None = None
    reproduction_of: str | None = None
    metrics: Mapping[str, Series] = field(default_factory=dict)
    id: str | None = None
    """A client-generated UUIDv7 (lets a client create experiments while offline, and makes
    a replayed creation idempotent); None lets the service generate it."""


class MetricHistory(Sequence[MetricPoint]):
    """A metric history: a read-only sequence of MetricPoint, ordered by (step, timestamp).

    Points are built on access, so reading 10,000 points costs three packed arrays rather
    than 10,000 objects; ``steps``, ``timestamps`` and ``values`` give the columns directly.

    Example:
        >>> h = MetricHistory("loss", [0, 1], [10.0, 11.0], [0.5, 0.25])
        >>> h[1], len(h), h.values
        (MetricPoint(step=1, timestamp=11.0, value=0.25), 2, [0.5, 0.25])
    """

    __slots__ = ("key", "steps", "timestamps", "values")

    def __init__(
        self, key: str, steps: Sequence[int], timestamps: Sequence[float], values: Sequence[float]
    ) -> None:
        self.key = key
        self.steps = list(steps)
        self.timestamps = list(timestamps)
        self.values = list(values)

    def __len__(self) -> int:
        return len(self.steps)

    @overload
    def __getitem__(self, index: int) -> MetricPoint: ...
    @overload
    def __getitem__(self, index: slice) -> list[MetricPoint]: ...
    def __getitem__(self, index: int | slice) -> MetricPoint | list[MetricPoint]:
        if isinstance(index, slice):
            return [
                MetricPoint(*p)
                for p in zip(
                    self.steps[index], self.timestamps[index], self.values[index], strict=True
                )
            ]
        return MetricPoint(self.steps[index], self.timestamps[index], self.values[index])

    def __iter__(self) -> Iterator[MetricPoint]:
        return map(MetricPoint, self.steps, self.timestamps, self.values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MetricHistory):
            other = list(other)
        if not isinstance(other, list | tuple):
            return NotImplemented
        return len(other) == len(self) and all(
            a.step == b[0] and a.timestamp == b[1] and same_metric_value(a.value, b[2])
            for a, b in zip(self, other, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"MetricHistory(key={self.key!r}, points={len(self)})"

    def to_pandas(self) -> Any:
        """A DataFrame with columns step, timestamp, value (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(
            {"step": self.steps, "timestamp": self.timestamps, "value": self.values}
        )


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as listed (never the secret itself)."""

    id: int
    name: str
    prefix: str
    username: str
    created_at: float
    expires_at: float | None
    revoked: bool
    last_used_at: float | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A newly created token: ``token`` is the secret, shown this once and never stored."""

    token: str
    info: TokenInfo


@dataclass(frozen=True, slots=True)
class ParamDiff:
    """One param key across the compared experiments.

    ``values`` maps each experiment ID that has the param to its value (an experiment without
    it is absent); ``differs`` is True when some experiment lacks it or two values differ.
    """

    key: str
    values: dict[str, Any]
    differs: bool


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """One metric key across the compared experiments, and which one is best.

    ``direction`` is ``"min"`` (lower is better) or ``"max"``; ``best`` is the ID of the
    experiment with the best last value (None when no experiment has a non-NaN last value),
    ``best_value`` that value.
    """

    key: str
    direction: str
    summaries: dict[str, MetricSummary]
    best: str | None
    best_value: float | None


@dataclass(frozen=True, slots=True)
class AlignedHistory:
    """The histories of one metric key of several experiments, aligned on step.

    ``steps`` is the union of their steps in order; ``values[experiment_id][i]`` is that
    experiment's value at ``steps[i]`` (the last one logged at that step), or None when it
    logged nothing there.
    """

    key: str
    steps: list[int]
    values: dict[str, list[float | None]]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Experiments side by side: params, metric summaries with the best of each, histories.

    ``experiments`` keeps the order asked for; ``params`` and ``metrics`` are sorted by key;
    ``histories`` (when requested) holds the metric keys every experiment has.
    """

    experiments: list[Experiment]
    params: list[ParamDiff]
    metrics: list[MetricComparison]
    histories: dict[str, AlignedHistory] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        """The compared experiment IDs, in order."""
        return [e.id for e in self.experiments]

    @property
    def differing_params(self) -> list[ParamDiff]:
        """Only the params whose values differ (or that some experiment lacks)."""
        return [p for p in self.params if p.differs]
