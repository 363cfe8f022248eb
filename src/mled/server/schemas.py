"""Request and response bodies shared by the route modules, and their error responses.

Entities, table rows and API schemas stay separate: the models here convert from entities
(``ExperimentOut.of``) and to service inputs (``ExperimentIn.to_spec``) in this one place.

JSON has no NaN or infinities, so every float that may be non-finite (metric values, metric
summaries, floats inside params and captured dicts) travels as a number or as one of the
strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (see :mod:`mled.wire`); the schema of
such a field says exactly that.

The schemas check what JSON Schema can express (types, enums, lengths, ranges, the shape of
IDs, keys and names) so that a malformed request is a 422 naming the field. Rules it cannot
express (``ended_at`` before ``started_at``, a ``..`` segment in a key, immutable params) are
the service layer's, answered with 400 or 409.

Example:
    >>> SeriesIn(steps=[0, 1], timestamps=[1.0, 2.0], values=[0.5, "NaN"]).series()[2]
    [0.5, nan]
    >>> json_safe({"lr": float("inf"), "layers": [1, float("nan")]})
    {'lr': 'Infinity', 'layers': [1, 'NaN']}
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, cast

import orjson
from fastapi import Path
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from mled.entities import Experiment, MetricSummary, NewExperiment, Series
from mled.wire import MAX_IMPORT, decode_float, encode_float

# --- scalar types ----------------------------------------------------------------------------

NonFinite = Literal["NaN", "Infinity", "-Infinity"]
WireFloat = float | NonFinite
"""A float in a response: a JSON number, or a string for NaN and the infinities."""

StrictFloat = Annotated[float, Strict()]
WireFloatIn = StrictFloat | NonFinite
"""A float in a request: a JSON number (not a numeric string), or NaN/infinity as a string."""

FiniteFloat = Annotated[float, Strict(), Field(allow_inf_nan=False)]
MAX_JSON_INT = 2**53 - 1
"""Integers in JSON bodies stay within what every JSON parser reads exactly (I-JSON)."""


def _integral(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; so does the API (3.5 and "3" stay invalid)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Step = Annotated[
    int, Strict(), Field(ge=-MAX_JSON_INT, le=MAX_JSON_INT), BeforeValidator(_integral)
]

MAX_EPOCH = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the latest time an experiment can start or end."""
EpochSeconds = Annotated[float, Strict(), Field(ge=0, le=MAX_EPOCH, allow_inf_nan=False)]

NO_NUL = r"^[^\x00]*$"
"""Text of any kind: PostgreSQL cannot store NUL characters, so no store may."""
_EDGE = r"[^\x00-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character a name may start and end with: not a control character, not one of the
characters ``str.strip()`` removes (spelled out: ``\\s`` differs between regex engines)."""
NAME_PATTERN = rf"^{_EDGE}([^\x00-\x1f]*{_EDGE})?$"
"""Project, experiment, group and user names: no control characters, no surrounding spaces."""
KEY_PATTERN = r"^[A-Za-z0-9_\-. :/]+$"
"""Param, metric and tag keys (the service also refuses '..' segments and a leading '/')."""
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
ID_PREFIX_PATTERN = r"^[0-9a-fA-F-]+$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NAME_PATTERN)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=250, pattern=KEY_PATTERN)]
FullId = Annotated[str, StringConstraints(min_length=36, max_length=36, pattern=UUID_PATTERN)]
IdPrefix = Annotated[str, StringConstraints(min_length=1, max_length=36, pattern=ID_PREFIX_PATTERN)]
Status = Literal["running", "finished", "failed", "killed"]
EndStatus = Literal["finished", "failed", "killed"]


LongText = Annotated[str, StringConstraints(max_length=65_536, pattern=NO_NUL)]
"""Notes, error messages, tag values: free text without NUL."""

ExperimentRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=36,
        pattern=ID_PREFIX_PATTERN,
        description="A full experiment ID or a unique prefix of one (at least 1 character).",
    ),
]
"""The ``{experiment_id}`` path parameter."""
UsernamePath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NAME_PATTERN, description="A user name.")
]
"""The ``{username}`` path parameter."""

JsonDict = dict[str, Any]
MAX_ITEMS = 10_000
"""Most params, tags or metric keys one request may carry."""


def _keys_schema(schema: dict[str, Any]) -> None:
    """Constrain the key names of a ``dict[Key, ...]`` (pydantic emits patternProperties,
    which would let keys that do not match through; ``propertyNames`` refuses them), also
    inside the ``anyOf`` of an optional one (``dict[Key, ...] | None``)."""
    for member in [schema, *schema.get("anyOf", [])]:
        pattern_properties = member.pop("patternProperties", None)
        if pattern_properties:
            ((pattern, values),) = pattern_properties.items()
            member.setdefault("propertyNames", {})["pattern"] = pattern
            member["additionalProperties"] = values


def keyed(**kwargs: Any) -> Any:
    """A ``Field`` for a dict keyed by param/metric/tag keys (at most MAX_ITEMS of them)."""
    return Field(max_length=MAX_ITEMS, json_schema_extra=_keys_schema, **kwargs)


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its wire string (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else encode_float(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def wire_float(value: float) -> WireFloat:
    """``mled.wire.encode_float`` typed for the schemas."""
    return cast(WireFloat, encode_float(value))


def _opt_wire(value: float | None) -> WireFloat | None:
    return None if value is None else wire_float(value)


# --- request bodies -------------------------------------------------------------------------

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def find_surrogate(value: Any) -> tuple[str | int, ...] | None:
    """The path to the first string (or key) holding a lone UTF-16 surrogate, else None.

    JSON escapes such as ``"\\ud800"`` decode to text that no database can store.

    Example:
        >>> find_surrogate({"params": {"lr": 0.1, "note": ["ok", chr(0xD800)]}})
        ('params', 'note', 1)
    """
    try:
        # orjson refuses any str that is not valid UTF-8, i.e. one holding a surrogate, at C
        # speed: a fifth of the server's time per imported experiment went to walking the body.
        # It also refuses what it cannot encode (ints beyond 64 bits, deep nesting): walk then.
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return _surrogate_path(value, ())
    return None


def _surrogate_path(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _SURROGATE.search(key):
                return (*path, key)
            found = _surrogate_path(item, (*path, key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, int | float):
                found = _surrogate_path(item, (*path, i))
                if found is not None:
                    return found
    return None


class Body(BaseModel):
    """Base of every request body: unknown fields are refused, and so is text that is not
    valid Unicode (a lone surrogate escape), so the store never sees either."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        where = find_surrogate(data)
        if where is not None:
            name = ".".join(str(p) for p in where) or "the body"
            raise ValueError(f"{name} holds a lone UTF-16 surrogate, which is not text")
        return data


# --- errors ----------------------------------------------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem-details body: the shape of every error response."""

    type: str = Field(description="https://mled.dev/errors/<code>")
    title: str
    status: int
    code: str = Field(description="Stable error code, listed in docs/errors.md.")
    detail: str = Field(description="What went wrong.")
    hint: str = Field(description="What to do about it.")
    details: dict[str, Any] | None = Field(
        default=None,
        description="Structured data: the missing permission, ID candidates, bad fields.",
    )


PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_SCHEMA = Problem.model_json_schema()
_MEANING = {
    400: "Invalid input: a rule the schema cannot express (see `code`).",
    401: "No valid API token (missing, forged, expired or revoked).",
    403: "Permission denied; `details.permission` names the missing permission.",
    404: "Not found.",
    409: "Conflicts with stored data (ambiguous ID prefix, immutable param, ended experiment).",
    413: "The request body is over the server's limit.",
    415: "The request body's media type or content encoding is not supported.",
    422: "The request does not match the schema; `details.fields` names each bad field.",
    429: "Too many failed attempts; wait before retrying.",
    500: "A stored object is missing or corrupted (`artifact_missing`, `artifact_corrupted`).",
    503: "The store is unavailable; retry later.",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route can answer (problem+json)."""
    return {
        status: {
            "description": _MEANING[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in sorted(set(statuses))
    }


# --- metrics ---------------------------------------------------------------------------------


class SeriesIn(BaseModel):
    """One metric key's points as three equally long columns."""

    model_config = ConfigDict(extra="forbid")

    steps: list[Step]
    timestamps: list[FiniteFloat] = Field(description="Epoch seconds of each point.")
    values: list[WireFloatIn]

    def series(self) -> Series:
        return self.steps, self.timestamps, [decode_float(v) for v in self.values]


class MetricBatchIn(Body):
    """A JSON metric batch (the binary ``application/x-mled-batch`` body is faster)."""

    metrics: dict[Key, SeriesIn] = keyed()

    def batch(self) -> dict[str, Series]:
        return {key: s.series() for key, s in self.metrics.items()}


class PointsOut(BaseModel):
    points: int = Field(description="How many points the batch stored.")


class MetricHistoryOut(BaseModel):
    """A metric's points in (step, timestamp) order, as columns."""

    key: str
    steps: list[int]
    timestamps: list[WireFloat]
    values: list[WireFloat]


class MetricSummaryOut(BaseModel):
    """Last value and extremes of one metric (extremes skip NaN; null when all are NaN)."""

    last: WireFloat
    min: WireFloat | None
    max: WireFloat | None
    count: int
    last_step: int
    last_timestamp: WireFloat

    @classmethod
    def of(cls, s: MetricSummary) -> MetricSummaryOut:
        return cls(
            last=wire_float(s.last),
            min=_opt_wire(s.min),
            max=_opt_wire(s.max),
            count=s.count,
            last_step=s.last_step,
            last_timestamp=wire_float(s.last_timestamp),
        )


# --- experiments -----------------------------------------------------------------------------

TagValue = LongText | bool | int | float


class SourceIn(BaseModel):
    """The code version an experiment ran: ``commit`` and ``branch`` plus any other fields."""

    model_config = ConfigDict(extra="allow")

    commit: Annotated[str, StringConstraints(max_length=64, pattern=NO_NUL)] | None = None
    branch: Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)] | None = None


class ExperimentIn(Body):
    """A new experiment: live (``status`` running) or one that already ran.

    ``id`` is an optional client-generated UUIDv7: sending the same creation twice (a retry,
    a replayed offline spool) returns the experiment created the first time.
    """

    id: FullId | None = None
    project: Name
    name: Name
    params: dict[Key, Any] = keyed(default_factory=dict)
    tags: dict[Key, TagValue] = keyed(default_factory=dict)
    status: Status = "running"
    group: Name | None = None
    parent_id: IdPrefix | None = None
    notes: LongText = ""
    started_at: EpochSeconds | None = None
    ended_at: EpochSeconds | None = None
    source: SourceIn | None = Field(default=None, description="Code version (git).")
    command: JsonDict | None = Field(default=None, description="Command line, entry point.")
    environment: JsonDict | None = Field(default=None, description="Python, packages, host.")
    seeds: JsonDict | None = None
    reproduction_of: IdPrefix | None = None
    metrics: dict[Key, SeriesIn] = keyed(default_factory=dict)

    def to_spec(self) -> NewExperiment:
        return NewExperiment(
            project=self.project,
            name=self.name,
            params=self.params,
            tags=self.tags,
            status=self.status,
            group=self.group,
            parent_id=self.parent_id,
            notes=self.notes,
            started_at=self.started_at,
            ended_at=self.ended_at,
            source=None if self.source is None else self.source.model_dump(exclude_unset=True),
            command=self.command,
            environment=self.environment,
            seeds=self.seeds,
            reproduction_of=self.reproduction_of,
            metrics={key: s.series() for key, s in self.metrics.items()},
            id=self.id,
        )


class ImportIn(Body):
    """Experiments that already ran, stored together (at most ``MAX_IMPORT``)."""

    experiments: list[ExperimentIn] = Field(min_length=1, max_length=MAX_IMPORT)

    def to_specs(self) -> list[NewExperiment]:
        return [e.to_spec() for e in self.experiments]


class ImportOut(BaseModel):
    """The IDs of the imported experiments, in the order sent."""

    ids: list[str]


class ExperimentOut(BaseModel):
    """An experiment with its params, tags, last metric values and capture records."""

    id: str
    project: str
    name: str
    status: Status
    owner: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration: float | None = Field(description="Seconds from start to end; null if unknown.")
    group: str | None
    parent_id: str | None
    notes: str
    params: dict[str, Any] = Field(description="Typed values: str, int, float, bool, JSON.")
    metrics: dict[str, WireFloat] = Field(description="The last value of each metric.")
    metric_summaries: dict[str, MetricSummaryOut]
    tags: dict[str, str]
    source: JsonDict | None
    command: JsonDict | None
    environment: JsonDict | None
    seeds: JsonDict | None
    error: str | None
    reproduction_of: str | None

    @classmethod
    def of(cls, e: Experiment) -> ExperimentOut:
        return cls(
            id=e.id,
            project=e.project,
            name=e.name,
            status=e.status,  # type: ignore[arg-type]
            owner=e.owner,
            created_at=e.created_at,
            started_at=e.started_at,
            ended_at=e.ended_at,
            duration=e.duration,
            group=e.group,
            parent_id=e.parent_id,
            notes=e.notes,
            params=json_safe(e.params),
            metrics={k: wire_float(v) for k, v in e.metrics.items()},
            metric_summaries={k: MetricSummaryOut.of(s) for k, s in e.metric_summaries.items()},
            tags=e.tags,
            source=json_safe(e.source),
            command=json_safe(e.command),
            environment=json_safe(e.environment),
            seeds=json_safe(e.seeds),
            error=e.error,
            reproduction_of=e.reproduction_of,
        )


class ParamsIn(Body):
    params: dict[Key, Any] = keyed()


class TagsIn(Body):
    tags: dict[Key, TagValue] = keyed()


class SeedsIn(Body):
    seeds: JsonDict


class EndIn(Body):
    """How an experiment ended; ``ended_at`` defaults to the server's clock."""

    status: EndStatus = "finished"
    error: LongText | None = None
    ended_at: EpochSeconds | None = None
