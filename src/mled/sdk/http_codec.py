"""JSON bodies of the REST API to and from entities (the client side, in one place).

Decoding is tolerant: fields a server does not send take their defaults, non-finite floats
may arrive as the strings ``"NaN"``/``"Infinity"`` (see ``mled.wire``), and times as ISO 8601
strings or epoch seconds.

Example:
    >>> project({"id": "p1", "name": "vision", "created_at": "2026-01-02T03:04:05Z"}).name
    'vision'
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from mled.entities import (
    AlignedHistory,
    AuditProblem,
    AuditReport,
    Comparison,
    Experiment,
    MetricComparison,
    MetricHistory,
    MetricSummary,
    NewExperiment,
    ParamDiff,
    Project,
    TokenInfo,
    User,
    to_datetime,
)
from mled.validation import encode_param, validate_tag_value
from mled.wire import BATCH_MEDIA_TYPE, MAX_IMPORT, decode_batch, decode_float, encode_float


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays become the Python values they hold."""
    if hasattr(value, "dtype") and hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def params_json(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as typed JSON values (bool, int, float, str, or a list/dict)."""
    return {key: json_safe(value) for key, value in params.items()}


def params_match(stored: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """True when every param in ``sent`` is stored with the same typed value."""
    for key, value in sent.items():
        if key not in stored or encode_param(stored[key])[:2] != encode_param(value)[:2]:
            return False
    return True


def _series_json(series: Any) -> dict[str, Any]:
    steps, timestamps, values = series
    return {
        "steps": [int(s) for s in steps],
        "timestamps": [float(t) for t in timestamps],
        "values": [encode_float(float(v)) for v in values],
    }


def new_experiment_json(spec: NewExperiment) -> dict[str, Any]:
    """The body of ``POST /experiments``."""
    body: dict[str, Any] = {
        "id": spec.id,
        "project": spec.project,
        "name": spec.name,
        "params": params_json(spec.params),
        "tags": {k: validate_tag_value(k, v) for k, v in spec.tags.items()},
        "status": spec.status,
        "group": spec.group,
        "parent_id": spec.parent_id,
        "notes": spec.notes,
        "started_at": spec.started_at,
        "ended_at": spec.ended_at,
        "source": json_safe(spec.source),
        "command": json_safe(spec.command),
        "environment": json_safe(spec.environment),
        "seeds": json_safe(spec.seeds),
        "reproduction_of": spec.reproduction_of,
    }
    if spec.metrics:
        body["metrics"] = {k: _series_json(s) for k, s in spec.metrics.items()}
    return body


def offline_experiment(spec: NewExperiment, owner: str) -> Experiment:
    """The experiment as the server will store it, for a creation that was spooled."""
    now = datetime.now(UTC)
    assert spec.id is not None
    return Experiment(
        id=spec.id,
        project=spec.project,
        name=spec.name,
        status=spec.status,
        owner=owner,
        created_at=now,
        started_at=to_datetime(spec.started_at) or now,
        ended_at=to_datetime(spec.ended_at),
        group=spec.group,
        parent_id=spec.parent_id,
        notes=spec.notes,
        params=dict(spec.params),
        tags={k: validate_tag_value(k, v) for k, v in spec.tags.items()},
        source=spec.source,
        command=spec.command,
        environment=spec.environment,
        seeds=spec.seeds,
        reproduction_of=spec.reproduction_of,
    )


def when(value: Any) -> datetime | None:
    """A time sent as ISO 8601 text or epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return to_datetime(float(value))
    text = str(value)
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _number(value: Any) -> float | None:
    return None if value is None else decode_float(value)


def items(answer: Any) -> list[Any]:
    """The items of a list answer, bare or wrapped in a page (``{"items": [...]}``)."""
    if isinstance(answer, list):
        return answer
    if isinstance(answer, dict):
        for name in ("items", "experiments", "projects"):
            if isinstance(answer.get(name), list):
                return list(answer[name])
    return []


def project(d: Mapping[str, Any]) -> Project:
    return Project(
        id=str(d.get("id", "")),
        name=str(d["name"]),
        description=str(d.get("description") or ""),
        created_at=when(d.get("created_at")) or datetime.now(UTC),
    )


def _summary(key: str, d: Mapping[str, Any]) -> MetricSummary:
    last = _number(d.get("last"))
    return MetricSummary(
        key=key,
        last=math.nan if last is None else last,
        min=_number(d.get("min")),
        max=_number(d.get("max")),
        count=int(d.get("count", 0)),
        last_step=int(d.get("last_step", 0)),
        last_timestamp=_number(d.get("last_timestamp")) or 0.0,
    )


def experiment(d: Mapping[str, Any]) -> Experiment:
    """An ``Experiment`` from its JSON form."""
    metrics = {k: decode_float(v) for k, v in (d.get("metrics") or {}).items() if v is not None}
    summaries = {k: _summary(k, v) for k, v in (d.get("metric_summaries") or {}).items()}
    return Experiment(
        id=str(d["id"]),
        project=str(d.get("project", "")),
        name=str(d.get("name", "")),
        status=str(d.get("status", "")),
        owner=str(d.get("owner", "")),
        created_at=when(d.get("created_at")) or datetime.now(UTC),
        started_at=when(d.get("started_at")),
        ended_at=when(d.get("ended_at")),
        group=d.get("group"),
        parent_id=d.get("parent_id"),
        notes=str(d.get("notes") or ""),
        params=dict(d.get("params") or {}),
        metrics=metrics,
        metric_summaries=summaries,
        tags={str(k): str(v) for k, v in (d.get("tags") or {}).items()},
        source=d.get("source"),
        command=d.get("command"),
        environment=d.get("environment"),
        seeds=d.get("seeds"),
        error=d.get("error"),
        reproduction_of=d.get("reproduction_of"),
    )


def history(key: str, response: httpx.Response) -> MetricHistory:
    """A metric history sent as a binary batch or as JSON columns (or points)."""
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media == BATCH_MEDIA_TYPE:
        series = decode_batch(response.content).get(key, ([], [], []))
        return MetricHistory(key, *series)
    d = response.json()
    if isinstance(d, dict) and "steps" in d:
        values = [decode_float(v) for v in d.get("values", [])]
        return MetricHistory(key, d["steps"], [float(t) for t in d["timestamps"]], values)
    points = d.get("points", []) if isinstance(d, dict) else d
    return MetricHistory(
        key,
        [int(p["step"]) for p in points],
        [float(p["timestamp"]) for p in points],
        [decode_float(p["value"]) for p in points],
    )


def audit_report(d: Mapping[str, Any]) -> AuditReport:
    problems = [
        AuditProblem(
            kind=str(p.get("kind", "")),
            seq=p.get("seq"),
            message=str(p.get("message", "")),
            experiment_id=p.get("experiment_id"),
            metric=p.get("metric"),
        )
        for p in d.get("problems") or []
    ]
    return AuditReport(
        ok=bool(d.get("ok")),
        events_checked=int(d.get("events_checked", 0)),
        chunks_checked=int(d.get("chunks_checked", 0)),
        problems=problems,
    )


def comparison(d: Mapping[str, Any]) -> Comparison:
    """A ``Comparison`` from the answer of ``POST /experiments/compare``."""
    histories = {
        key: AlignedHistory(
            key=key,
            steps=[int(s) for s in h.get("steps", [])],
            values={
                eid: [None if v is None else decode_float(v) for v in values]
                for eid, values in (h.get("values") or {}).items()
            },
        )
        for key, h in (d.get("histories") or {}).items()
    }
    return Comparison(
        experiments=[experiment(e) for e in d.get("experiments", [])],
        params=[
            ParamDiff(key=str(p["key"]), values=dict(p.get("values") or {}), differs=p["differs"])
            for p in d.get("params", [])
        ],
        metrics=[
            MetricComparison(
                key=str(m["key"]),
                direction=str(m["direction"]),
                summaries={k: _summary(str(m["key"]), v) for k, v in m["summaries"].items()},
                best=m.get("best"),
                best_value=_number(m.get("best_value")),
            )
            for m in d.get("metrics", [])
        ],
        histories=histories,
    )


def user(d: Mapping[str, Any]) -> User:
    """A ``User`` (the server does not publish internal ids: ``id`` is 0)."""
    return User(
        id=int(d.get("id", 0)),
        username=str(d["username"]),
        is_admin=bool(d.get("is_admin")),
        disabled=bool(d.get("disabled")),
    )


def token_info(d: Mapping[str, Any]) -> TokenInfo:
    return TokenInfo(
        id=int(d["id"]),
        name=str(d.get("name", "")),
        prefix=str(d.get("prefix", "")),
        username=str(d.get("username", "")),
        created_at=float(d.get("created_at") or 0.0),
        expires_at=d.get("expires_at"),
        revoked=bool(d.get("revoked")),
        last_used_at=d.get("last_used_at"),
    )


IMPORT_REQUEST_BYTES = 8 * 1024 * 1024
"""About how large one import request grows before the next one starts."""


def import_batches(
    bodies: Sequence[dict[str, Any]],
    *,
    max_count: int = MAX_IMPORT,
    max_bytes: int = IMPORT_REQUEST_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Split experiment bodies into requests of at most ``max_count`` experiments and about
    ``max_bytes`` of JSON each (an experiment larger than that goes alone).

    Example:
        >>> [len(b) for b in import_batches([{"name": "x"}] * 5, max_count=2)]
        [2, 2, 1]
    """
    batch: list[dict[str, Any]] = []
    size = 0
    for body in bodies:
        grows = len(json.dumps(body, separators=(",", ":")))
        if batch and (len(batch) == max_count or size + grows > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(body)
        size += grows
    if batch:
        yield batch
