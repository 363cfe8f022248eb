"""Rows of artifacts (an experiment's files by logical path) and their conversion to entities."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from mled.artifacts.entities import Artifact
from mled.entities import to_datetime
from mled.store.sql.tables import artifacts, experiments


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def stored_paths(conn: Connection, experiment_pk: int) -> dict[str, tuple[str, int]]:
    """Every artifact path of an experiment: {path: (digest, size)}."""
    stmt = select(artifacts.c.path, artifacts.c.digest, artifacts.c.size).where(
        artifacts.c.experiment_id == experiment_pk
    )
    return {r[0]: (r[1], int(r[2])) for r in conn.execute(stmt)}


def insert_artifacts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(artifacts), list(rows))


def list_artifacts(conn: Connection, experiment_pk: int, prefix: str = "") -> list[Artifact]:
    """Artifacts at ``prefix`` or under the folder ``prefix`` ('' = all), ordered by path."""
    stmt = (
        select(artifacts, experiments.c.public_id)
        .join(experiments, experiments.c.id == artifacts.c.experiment_id)
        .where(artifacts.c.experiment_id == experiment_pk)
        .order_by(artifacts.c.path)
    )
    if prefix:
        stmt = stmt.where(
            (artifacts.c.path == prefix) | artifacts.c.path.like(_like_prefix(prefix), escape="\\")
        )
    return [_entity(r) for r in conn.execute(stmt)]


def iter_for_verify(
    conn: Connection, *, experiment_pk: int | None = None, project_ids: list[int] | None = None
) -> Iterator[tuple[str, str, str, int]]:
    """(experiment public id, path, digest, size) of the artifacts to re-hash."""
    stmt = (
        select(experiments.c.public_id, artifacts.c.path, artifacts.c.digest, artifacts.c.size)
        .join(experiments, experiments.c.id == artifacts.c.experiment_id)
        .order_by(artifacts.c.id)
    )
    if experiment_pk is not None:
        stmt = stmt.where(artifacts.c.experiment_id == experiment_pk)
    if project_ids is not None:
        stmt = stmt.where(experiments.c.project_id.in_(project_ids))
    for r in conn.execute(stmt):
        yield str(r[0]), str(r[1]), str(r[2]), int(r[3])


def referenced_digests(conn: Connection) -> set[str]:
    """Every digest any artifact of any experiment names (for garbage collection)."""
    stmt = select(artifacts.c.digest).distinct()
    return {str(r[0]) for r in conn.execute(stmt)}


def _entity(r: Any) -> Artifact:
    created = to_datetime(r.created_at)
    assert created is not None
    return Artifact(
        experiment_id=r.public_id,
        path=r.path,
        digest=r.digest,
        size=int(r.size),
        media_type=r.media_type,
        created_at=created,
    )
