"""Rows of experiments, params and tags, and their conversion to ``Experiment`` entities."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mled.entities import Experiment, MetricSummary, to_datetime
from mled.store.sql.tables import experiments, metrics, params, projects, tags, users
from mled.store.sql.tables.meta import PREFIX_LENGTH

IN_CHUNK = 900  # keeps IN (...) lists well under every dialect's bound-parameter limit


@dataclass(frozen=True, slots=True)
class ExperimentKey:
    """What the service needs to authorize and write: integer keys and the owner."""

    pk: int
    public_id: str
    project_id: int
    owner_id: int
    status: str


def insert_experiment(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(experiments).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def update_experiment(conn: Connection, pk: int, values: dict[str, Any]) -> None:
    conn.execute(update(experiments).where(experiments.c.id == pk).values(**values))


def _key_select() -> Any:
    c = experiments.c
    return select(c.id, c.public_id, c.project_id, c.owner_id, c.status)


def find_by_prefix(conn: Connection, prefix: str, limit: int = 10) -> list[ExperimentKey]:
    """Experiments whose public ID starts with ``prefix`` (the prefix is a bound parameter)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (
        _key_select()
        .where(experiments.c.public_id.like(escaped + "%", escape="\\"))
        .order_by(experiments.c.public_id)
        .limit(limit)
    )
    return [ExperimentKey(*r) for r in conn.execute(stmt)]


def get_key(conn: Connection, public_id: str) -> ExperimentKey | None:
    row = conn.execute(_key_select().where(experiments.c.public_id == public_id)).first()
    return None if row is None else ExperimentKey(*row)


def get_key_by_pk(conn: Connection, pk: int) -> ExperimentKey | None:
    row = conn.execute(_key_select().where(experiments.c.id == pk)).first()
    return None if row is None else ExperimentKey(*row)


def public_ids(conn: Connection, pks: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in _chunks(list(pks)):
        stmt = select(experiments.c.id, experiments.c.public_id).where(experiments.c.id.in_(part))
        out.update({int(r[0]): str(r[1]) for r in conn.execute(stmt)})
    return out


def list_keys(
    conn: Connection, *, project_ids: list[int] | None, limit: int, offset: int = 0
) -> list[int]:
    """Integer keys of experiments, newest first."""
    stmt = select(experiments.c.id).order_by(experiments.c.id.desc()).limit(limit).offset(offset)
    if project_ids is not None:
        stmt = stmt.where(experiments.c.project_id.in_(project_ids))
    return [int(r[0]) for r in conn.execute(stmt)]


# --- params and tags ---------------------------------------------------------------------------


def get_param_rows(conn: Connection, pk: int) -> dict[str, tuple[str, str]]:
    """Stored params of one experiment as {key: (value_type, value_text)}."""
    stmt = select(params.c.key, params.c.value_type, params.c.value_text).where(
        params.c.experiment_id == pk
    )
    return {r[0]: (r[1], r[2]) for r in conn.execute(stmt)}


def insert_params(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(
            insert(params),
            [{**r, "value_prefix": r["value_text"][:PREFIX_LENGTH]} for r in rows],
        )


def get_tags(conn: Connection, pk: int) -> dict[str, str]:
    stmt = select(tags.c.key, tags.c.value).where(tags.c.experiment_id == pk)
    return {r[0]: r[1] for r in conn.execute(stmt)}


def upsert_tags(conn: Connection, pk: int, new: dict[str, str], existing: dict[str, str]) -> None:
    inserts = [
        {"experiment_id": pk, "key": k, "value": v, "value_prefix": v[:PREFIX_LENGTH]}
        for k, v in new.items()
        if k not in existing
    ]
    if inserts:
        conn.execute(insert(tags), inserts)
    for k, v in new.items():
        if k in existing and existing[k] != v:
            conn.execute(
                update(tags)
                .where(tags.c.experiment_id == pk, tags.c.key == k)
                .values(value=v, value_prefix=v[:PREFIX_LENGTH])
            )


def delete_tag(conn: Connection, pk: int, key: str) -> None:
    conn.execute(tags.delete().where(tags.c.experiment_id == pk, tags.c.key == key))


# --- conversion to entities --------------------------------------------------------------------


def decode_param(value_type: str, value_text: str) -> Any:
    """Inverse of the service's param encoding (type tag + canonical text)."""
    if value_type == "str":
        return value_text
    if value_type == "int":
        return int(value_text)
    if value_type == "float":
        return float(value_text)
    if value_type == "bool":
        return value_text == "true"
    return json.loads(value_text)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), IN_CHUNK):
        yield items[i : i + IN_CHUNK]


def load_experiments(conn: Connection, pks: Sequence[int]) -> list[Experiment]:
    """Load full entities (params, last metrics, tags) for ``pks``, in the order given."""
    base: dict[int, Any] = {}
    p: dict[int, dict[str, Any]] = defaultdict(dict)
    t: dict[int, dict[str, str]] = defaultdict(dict)
    m: dict[int, dict[str, MetricSummary]] = defaultdict(dict)
    parent = experiments.alias("parent_exp")
    repro = experiments.alias("repro_exp")
    for part in _chunks(list(pks)):
        stmt = (
            select(
                experiments,
                projects.c.name.label("project_name"),
                users.c.username.label("owner_name"),
                parent.c.public_id.label("parent_public_id"),
                repro.c.public_id.label("repro_public_id"),
            )
            .join(projects, projects.c.id == experiments.c.project_id)
            .join(users, users.c.id == experiments.c.owner_id)
            .outerjoin(parent, parent.c.id == experiments.c.parent_id)
            .outerjoin(repro, repro.c.id == experiments.c.reproduction_of)
            .where(experiments.c.id.in_(part))
        )
        base.update({r.id: r for r in conn.execute(stmt)})
        pstmt = select(
            params.c.experiment_id, params.c.key, params.c.value_type, params.c.value_text
        ).where(params.c.experiment_id.in_(part))
        for eid, key, vtype, vtext in conn.execute(pstmt):
            p[eid][key] = decode_param(vtype, vtext)
        tstmt = select(tags.c.experiment_id, tags.c.key, tags.c.value).where(
            tags.c.experiment_id.in_(part)
        )
        for eid, key, value in conn.execute(tstmt):
            t[eid][key] = value
        mstmt = select(metrics).where(metrics.c.experiment_id.in_(part))
        for r in conn.execute(mstmt):
            m[r.experiment_id][r.key] = _summary(r)
    return [_entity(base[pk], p[pk], t[pk], m[pk]) for pk in pks if pk in base]


def _summary(r: Any) -> MetricSummary:
    # A NULL ``last`` in an existing summary row means the last value was NaN.
    last = math.nan if r.last is None else float(r.last)
    return MetricSummary(
        key=r.key,
        last=last,
        min=r.min,
        max=r.max,
        count=int(r._mapping["count"]),
        last_step=int(r.last_step),
        last_timestamp=float(r.last_timestamp),
    )


def _entity(
    r: Any, p: dict[str, Any], t: dict[str, str], m: dict[str, MetricSummary]
) -> Experiment:
    created = to_datetime(r.created_at)
    assert created is not None
    return Experiment(
        id=r.public_id,
        project=r.project_name,
        name=r.name,
        status=r.status,
        owner=r.owner_name,
        created_at=created,
        started_at=to_datetime(r.started_at),
        ended_at=to_datetime(r.ended_at),
        group=r.group_name,
        parent_id=r.parent_public_id,
        notes=r.notes,
        params=p,
        metrics={k: s.last for k, s in m.items()},
        metric_summaries=m,
        tags=t,
        source=_json(r.source),
        command=_json(r.command),
        environment=_json(r.environment),
        seeds=_json(r.seeds),
        error=r.error,
        reproduction_of=r.repro_public_id,
    )
