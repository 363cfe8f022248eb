"""Rows of experiments, params and tags, and their conversion to ``Experiment`` entities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mled.store.sql.loading import (
    IN_CHUNK,
    decode_param,
    fetch_plain,
    load_experiments,
    written_experiment,
)
from mled.store.sql.loading import chunks as _chunks
from mled.store.sql.summaries import refresh_summary
from mled.store.sql.tables import experiments, params, tags
from mled.store.sql.tables.meta import PREFIX_LENGTH

__all__ = [
    "IN_CHUNK",
    "ExperimentKey",
    "decode_param",
    "fetch_plain",
    "load_experiments",
    "written_experiment",
]


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


def insert_params(conn: Connection, pk: int, rows: list[dict[str, Any]]) -> None:
    """Add params to experiment ``pk`` (and to its summary)."""
    if rows:
        conn.execute(
            insert(params),
            [{**r, "value_prefix": r["value_text"][:PREFIX_LENGTH]} for r in rows],
        )
        refresh_summary(conn, pk, with_params=True)


def get_tags(conn: Connection, pk: int) -> dict[str, str]:
    stmt = select(tags.c.key, tags.c.value).where(tags.c.experiment_id == pk)
    return {r[0]: r[1] for r in conn.execute(stmt)}


def upsert_tags(conn: Connection, pk: int, new: dict[str, str], existing: dict[str, str]) -> None:
    """Set tags of experiment ``pk`` (and of its summary); ``existing`` are its current ones."""
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
    refresh_summary(conn, pk, with_tags=True)


def delete_tag(conn: Connection, pk: int, key: str) -> None:
    conn.execute(tags.delete().where(tags.c.experiment_id == pk, tags.c.key == key))
    refresh_summary(conn, pk, with_tags=True)
