"""Rows of experiments, params and tags, and their conversion to ``Experiment`` entities."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, Select, bindparam, insert, select, update

from mled.entities import Experiment, MetricSummary
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


_PARENT = experiments.alias("parent_exp")
_REPRO = experiments.alias("repro_exp")
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_E = experiments.c
_LIGHT_COLUMNS = (
    _E.id,
    _E.public_id,
    projects.c.name,
    _E.name,
    _E.status,
    users.c.username,
    _E.created_at,
    _E.started_at,
    _E.ended_at,
    _E.group_name,
    _PARENT.c.public_id,
    _E.notes,
    _E.seeds,
    _E.error,
    _REPRO.c.public_id,
)
_CAPTURE_COLUMNS = (_E.source, _E.command, _E.environment)


def _base_select(light: bool) -> Select[Any]:
    columns = _LIGHT_COLUMNS if light else (*_LIGHT_COLUMNS, *_CAPTURE_COLUMNS)
    return (
        select(*columns)
        .join_from(experiments, projects, projects.c.id == _E.project_id)
        .join(users, users.c.id == _E.owner_id)
        .outerjoin(_PARENT, _PARENT.c.id == _E.parent_id)
        .outerjoin(_REPRO, _REPRO.c.id == _E.reproduction_of)
        .where(_E.id.in_(_IDS))
    )


# Built once: constant statements are compiled once and then served from SQLAlchemy's cache.
_BASE = {light: _base_select(light) for light in (False, True)}
_PARAMS = select(params.c.experiment_id, params.c.key, params.c.value_type, params.c.value_text)
_PARAMS = _PARAMS.where(params.c.experiment_id.in_(_IDS))
_TAGS = select(tags.c.experiment_id, tags.c.key, tags.c.value).where(tags.c.experiment_id.in_(_IDS))
_METRICS = select(
    metrics.c.experiment_id,
    metrics.c.key,
    metrics.c.last,
    metrics.c.min,
    metrics.c.max,
    metrics.c.count,
    metrics.c.last_step,
    metrics.c.last_timestamp,
).where(metrics.c.experiment_id.in_(_IDS))


def load_experiments(
    conn: Connection, pks: Sequence[int], *, light: bool = False
) -> list[Experiment]:
    """Load full entities (params, metric summaries, tags) for ``pks``, in the order given.

    One query per table for every 900 keys. ``light=True`` leaves out the capture records
    (``source``, ``command``, ``environment`` are None): lists and search results do not show
    them, and they are the bulk of an experiment row.
    """
    found: dict[int, Experiment] = {}
    for part in _chunks(list(dict.fromkeys(pks))):
        ids = {"ids": list(part)}
        p: dict[int, dict[str, Any]] = {pk: {} for pk in part}
        t: dict[int, dict[str, str]] = {pk: {} for pk in part}
        m: dict[int, dict[str, MetricSummary]] = {pk: {} for pk in part}
        for eid, key, vtype, vtext in conn.execute(_PARAMS, ids):
            if vtype == "float":
                p[eid][key] = float(vtext)
            elif vtype == "str":
                p[eid][key] = vtext
            else:
                p[eid][key] = decode_param(vtype, vtext)
        for eid, key, value in conn.execute(_TAGS, ids):
            t[eid][key] = value
        nan = math.nan
        for eid, key, last, lo, hi, count, last_step, last_ts in conn.execute(_METRICS, ids):
            # A NULL ``last`` in an existing summary row means the last value was NaN.
            m[eid][key] = MetricSummary(
                key, nan if last is None else last, lo, hi, count, last_step, last_ts
            )
        for row in conn.execute(_BASE[light], ids):
            pk = row[0]
            found[pk] = _entity(row, p[pk], t[pk], m[pk], light)
    return [found[pk] for pk in pks if pk in found]


def _entity(
    r: Any, p: dict[str, Any], t: dict[str, str], m: dict[str, MetricSummary], light: bool
) -> Experiment:
    (_, public_id, project, name, status, owner, created, started, ended) = r[:9]
    (group, parent, notes, seeds, error, repro) = r[9:15]
    return Experiment(
        id=public_id,
        project=project,
        name=name,
        status=status,
        owner=owner,
        created_at=datetime.fromtimestamp(created, tz=UTC),
        started_at=None if started is None else datetime.fromtimestamp(started, tz=UTC),
        ended_at=None if ended is None else datetime.fromtimestamp(ended, tz=UTC),
        group=group,
        parent_id=parent,
        notes=notes,
        params=p,
        metrics={k: s.last for k, s in m.items()},
        metric_summaries=m,
        tags=t,
        source=None if light else _json(r[15]),
        command=None if light else _json(r[16]),
        environment=None if light else _json(r[17]),
        seeds=_json(seeds),
        error=error,
        reproduction_of=repro,
    )
