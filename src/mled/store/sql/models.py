"""Rows of registered models, their versions, aliases and alias history."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from mled.artifacts.entities import AliasMove, Model, ModelVersion
from mled.entities import to_datetime
from mled.store.sql.named import NamedKey, find_named, get_named
from mled.store.sql.tables import (
    experiments,
    model_alias_moves,
    model_aliases,
    model_versions,
    models,
    projects,
    users,
)

ModelKey = NamedKey


def find(conn: Connection, name: str, project_ids: list[int] | None) -> list[NamedKey]:
    """Models called ``name`` in the given projects (None: every project)."""
    return find_named(conn, models, name, project_ids)


def get(conn: Connection, project_pk: int, name: str) -> NamedKey | None:
    return get_named(conn, models, project_pk, name)


def insert_model(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(models).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def aliases_by_model(conn: Connection, model_pks: list[int]) -> dict[int, dict[str, int]]:
    """{model key: {alias: version number}}."""
    stmt = (
        select(model_aliases.c.model_id, model_aliases.c.alias, model_versions.c.version)
        .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
        .where(model_aliases.c.model_id.in_(model_pks))
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for model_pk, alias, version in conn.execute(stmt):
        out[int(model_pk)][alias] = int(version)
    return out


def list_models(conn: Connection, project_ids: list[int] | None) -> list[Model]:
    latest = (
        select(model_versions.c.model_id, func.max(model_versions.c.version).label("v"))
        .group_by(model_versions.c.model_id)
        .subquery()
    )
    stmt = (
        select(models, projects.c.name.label("project_name"), latest.c.v)
        .join(projects, projects.c.id == models.c.project_id)
        .outerjoin(latest, latest.c.model_id == models.c.id)
        .order_by(models.c.name, projects.c.name)
    )
    if project_ids is not None:
        stmt = stmt.where(models.c.project_id.in_(project_ids))
    rows = list(conn.execute(stmt))
    aliases = aliases_by_model(conn, [int(r.id) for r in rows])
    out = []
    for r in rows:
        created = to_datetime(r.created_at)
        assert created is not None
        out.append(
            Model(
                r.public_id,
                r.project_name,
                r.name,
                created,
                int(r.v or 0),
                dict(sorted(aliases.get(int(r.id), {}).items())),
            )
        )
    return out


# --- versions -----------------------------------------------------------------------------------


def _version_select() -> Any:
    v = model_versions.c
    return (
        select(
            v.id,
            v.public_id,
            v.model_id,
            v.version,
            v.artifact_path,
            v.digest,
            v.size,
            v.file_count,
            v.created_at,
            models.c.name,
            projects.c.name.label("project_name"),
            experiments.c.public_id.label("experiment_public_id"),
            users.c.username,
        )
        .join(models, models.c.id == v.model_id)
        .join(projects, projects.c.id == models.c.project_id)
        .join(experiments, experiments.c.id == v.experiment_id)
        .join(users, users.c.id == v.created_by)
    )


def _versions(conn: Connection, stmt: Any) -> list[tuple[int, ModelVersion]]:
    rows = list(conn.execute(stmt))
    aliases = aliases_by_model(conn, sorted({int(r.model_id) for r in rows}))
    out = []
    for r in rows:
        created = to_datetime(r.created_at)
        assert created is not None
        names = sorted(a for a, v in aliases.get(int(r.model_id), {}).items() if v == r.version)
        out.append(
            (
                int(r.id),
                ModelVersion(
                    id=r.public_id,
                    project=r.project_name,
                    name=r.name,
                    version=int(r.version),
                    experiment_id=r.experiment_public_id,
                    artifact_path=r.artifact_path,
                    digest=r.digest,
                    size=int(r.size),
                    file_count=int(r.file_count),
                    created_at=created,
                    created_by=r.username,
                    aliases=names,
                ),
            )
        )
    return out


def get_version(
    conn: Connection, model_pk: int, version: int | None
) -> tuple[int, ModelVersion] | None:
    """A version by number (None: the latest) with its integer key."""
    stmt = _version_select().where(model_versions.c.model_id == model_pk)
    if version is None:
        stmt = stmt.order_by(model_versions.c.version.desc()).limit(1)
    else:
        stmt = stmt.where(model_versions.c.version == version)
    found = _versions(conn, stmt)
    return found[0] if found else None


def get_version_by_pk(conn: Connection, pk: int) -> ModelVersion:
    return _versions(conn, _version_select().where(model_versions.c.id == pk))[0][1]


def list_versions(conn: Connection, model_pk: int) -> list[ModelVersion]:
    stmt = (
        _version_select()
        .where(model_versions.c.model_id == model_pk)
        .order_by(model_versions.c.version)
    )
    return [v for _, v in _versions(conn, stmt)]


def versions_from_experiment(conn: Connection, experiment_pk: int) -> list[ModelVersion]:
    stmt = (
        _version_select()
        .where(model_versions.c.experiment_id == experiment_pk)
        .order_by(model_versions.c.id)
    )
    return [v for _, v in _versions(conn, stmt)]


def find_same_version(
    conn: Connection, model_pk: int, experiment_pk: int, artifact_path: str, digest: str
) -> tuple[int, ModelVersion] | None:
    """An existing version registered from the same artifact with the same content."""
    v = model_versions.c
    stmt = _version_select().where(
        v.model_id == model_pk,
        v.experiment_id == experiment_pk,
        v.artifact_path == artifact_path,
        v.digest == digest,
    )
    found = _versions(conn, stmt)
    return found[0] if found else None


def next_version(conn: Connection, model_pk: int) -> int:
    stmt = select(func.max(model_versions.c.version)).where(model_versions.c.model_id == model_pk)
    return int(conn.execute(stmt).scalar() or 0) + 1


def insert_version(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(model_versions).values(**values)).inserted_primary_key[0])  # type: ignore[index]


# --- aliases ------------------------------------------------------------------------------------


def alias_version(conn: Connection, model_pk: int, alias: str) -> int | None:
    """The version number an alias points to, or None."""
    stmt = (
        select(model_versions.c.version)
        .join(model_aliases, model_aliases.c.version_id == model_versions.c.id)
        .where(model_aliases.c.model_id == model_pk, model_aliases.c.alias == alias)
    )
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def move_alias(
    conn: Connection,
    model_pk: int,
    alias: str,
    *,
    old: int | None,
    new: tuple[int, int] | None,
    now: float,
    actor_id: int,
) -> None:
    """Point ``alias`` at ``new`` = (version key, number), or delete it (None); log the move."""
    where = (model_aliases.c.model_id == model_pk) & (model_aliases.c.alias == alias)
    if new is None:
        conn.execute(delete(model_aliases).where(where))
    elif old is None:
        conn.execute(
            insert(model_aliases).values(model_id=model_pk, alias=alias, version_id=new[0])
        )
    else:
        conn.execute(update(model_aliases).where(where).values(version_id=new[0]))
    conn.execute(
        insert(model_alias_moves).values(
            model_id=model_pk,
            alias=alias,
            from_version=old,
            to_version=None if new is None else new[1],
            time=now,
            actor_id=actor_id,
        )
    )


def alias_history(conn: Connection, model_pk: int) -> list[AliasMove]:
    m = model_alias_moves.c
    stmt = (
        select(models.c.name, m.alias, m.from_version, m.to_version, m.time, users.c.username)
        .join(models, models.c.id == m.model_id)
        .join(users, users.c.id == m.actor_id)
        .where(m.model_id == model_pk)
        .order_by(m.id)
    )
    out = []
    for r in conn.execute(stmt):
        when = to_datetime(r.time)
        assert when is not None
        out.append(AliasMove(r.name, r.alias, r.from_version, r.to_version, when, r.username))
    return out
