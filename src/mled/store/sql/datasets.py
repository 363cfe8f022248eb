"""Rows of datasets, their versions and the experiments that use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mled.artifacts.entities import Dataset, DatasetVersion, parse_manifest
from mled.entities import to_datetime
from mled.store.sql.named import NamedKey, find_named, get_named
from mled.store.sql.tables import (
    dataset_inputs,
    dataset_versions,
    datasets,
    experiments,
    projects,
    users,
)

DatasetKey = NamedKey


def find(conn: Connection, name: str, project_ids: list[int] | None) -> list[NamedKey]:
    """Datasets called ``name`` in the given projects (None: every project)."""
    return find_named(conn, datasets, name, project_ids)


def get(conn: Connection, project_pk: int, name: str) -> NamedKey | None:
    return get_named(conn, datasets, project_pk, name)


def insert_dataset(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(datasets).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def list_datasets(conn: Connection, project_ids: list[int] | None) -> list[Dataset]:
    latest = (
        select(dataset_versions.c.dataset_id, func.max(dataset_versions.c.version).label("v"))
        .group_by(dataset_versions.c.dataset_id)
        .subquery()
    )
    stmt = (
        select(datasets, projects.c.name.label("project_name"), latest.c.v)
        .join(projects, projects.c.id == datasets.c.project_id)
        .outerjoin(latest, latest.c.dataset_id == datasets.c.id)
        .order_by(datasets.c.name, projects.c.name)
    )
    if project_ids is not None:
        stmt = stmt.where(datasets.c.project_id.in_(project_ids))
    out = []
    for r in conn.execute(stmt):
        created = to_datetime(r.created_at)
        assert created is not None
        out.append(Dataset(r.public_id, r.project_name, r.name, created, int(r.v or 0)))
    return out


# --- versions -----------------------------------------------------------------------------------


def _version_select(with_manifest: bool) -> Any:
    v = dataset_versions.c
    cols = [
        v.id,
        v.public_id,
        v.version,
        v.digest,
        v.file_count,
        v.size,
        v.source_uri,
        v.stored,
        v.created_at,
        datasets.c.name,
        projects.c.name.label("project_name"),
        users.c.username,
    ]
    if with_manifest:
        cols.append(v.manifest)
    return (
        select(*cols)
        .join(datasets, datasets.c.id == v.dataset_id)
        .join(projects, projects.c.id == datasets.c.project_id)
        .join(users, users.c.id == v.created_by)
    )


def _version(r: Any, with_manifest: bool = False) -> DatasetVersion:
    created = to_datetime(r.created_at)
    assert created is not None
    manifest = None
    if with_manifest:
        manifest = parse_manifest(r.manifest) if r.manifest is not None else {}
    return DatasetVersion(
        id=r.public_id,
        project=r.project_name,
        name=r.name,
        version=int(r.version),
        digest=r.digest,
        file_count=int(r.file_count),
        size=int(r.size),
        source_uri=r.source_uri,
        stored=bool(r.stored),
        created_at=created,
        created_by=r.username,
        manifest=manifest,
    )


def version_by_digest(
    conn: Connection, dataset_pk: int, digest: str
) -> tuple[int, DatasetVersion] | None:
    stmt = (
        _version_select(False)
        .where(dataset_versions.c.dataset_id == dataset_pk, dataset_versions.c.digest == digest)
        .order_by(dataset_versions.c.version)
    )
    row = conn.execute(stmt).first()
    return None if row is None else (int(row.id), _version(row))


def get_version(
    conn: Connection, dataset_pk: int, version: int | None, *, with_manifest: bool = False
) -> tuple[int, DatasetVersion] | None:
    """A version by number (None: the latest) with its integer key."""
    stmt = _version_select(with_manifest).where(dataset_versions.c.dataset_id == dataset_pk)
    if version is None:
        stmt = stmt.order_by(dataset_versions.c.version.desc()).limit(1)
    else:
        stmt = stmt.where(dataset_versions.c.version == version)
    row = conn.execute(stmt).first()
    return None if row is None else (int(row.id), _version(row, with_manifest))


def get_version_by_pk(conn: Connection, pk: int) -> DatasetVersion:
    row = conn.execute(_version_select(False).where(dataset_versions.c.id == pk)).one()
    return _version(row)


def list_versions(conn: Connection, dataset_pk: int) -> list[DatasetVersion]:
    stmt = (
        _version_select(False)
        .where(dataset_versions.c.dataset_id == dataset_pk)
        .order_by(dataset_versions.c.version)
    )
    return [_version(r) for r in conn.execute(stmt)]


def next_version(conn: Connection, dataset_pk: int) -> int:
    stmt = select(func.max(dataset_versions.c.version)).where(
        dataset_versions.c.dataset_id == dataset_pk
    )
    return int(conn.execute(stmt).scalar() or 0) + 1


def insert_version(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(dataset_versions).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def mark_stored(conn: Connection, version_pk: int) -> None:
    conn.execute(
        update(dataset_versions).where(dataset_versions.c.id == version_pk).values(stored=True)
    )


def iter_stored_for_verify(
    conn: Connection, *, version_pks: list[int] | None = None, project_ids: list[int] | None = None
) -> Iterator[tuple[str, int, str, str | None]]:
    """(dataset name, version, root digest, manifest JSON) of versions whose bytes are stored."""
    v = dataset_versions.c
    stmt = (
        select(datasets.c.name, v.version, v.digest, v.manifest)
        .join(datasets, datasets.c.id == v.dataset_id)
        .where(v.stored.is_(True))
        .order_by(v.id)
    )
    if version_pks is not None:
        stmt = stmt.where(v.id.in_(version_pks))
    if project_ids is not None:
        stmt = stmt.where(datasets.c.project_id.in_(project_ids))
    for r in conn.execute(stmt):
        yield str(r[0]), int(r[1]), str(r[2]), r[3]


def iter_manifests(conn: Connection) -> Iterator[str]:
    """The manifest JSON of every dataset version that has one, stored or not (garbage
    collection keeps every object any manifest names)."""
    v = dataset_versions.c
    stmt = select(v.manifest).where(v.manifest.is_not(None)).order_by(v.id)
    for r in conn.execute(stmt):
        yield str(r[0])


# --- uses by experiments ------------------------------------------------------------------------


def add_use(conn: Connection, experiment_pk: int, version_pk: int, role: str, now: float) -> bool:
    """Link an experiment to a version with a role; False when the link already existed."""
    c = dataset_inputs.c
    exists = conn.execute(
        select(c.role).where(
            c.experiment_id == experiment_pk, c.dataset_version_id == version_pk, c.role == role
        )
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(dataset_inputs).values(
            experiment_id=experiment_pk, dataset_version_id=version_pk, role=role, created_at=now
        )
    )
    return True


def uses_of_experiment(conn: Connection, experiment_pk: int) -> list[tuple[int, str]]:
    """(dataset version key, role) of every dataset the experiment used, in logging order."""
    c = dataset_inputs.c
    stmt = (
        select(c.dataset_version_id, c.role)
        .where(c.experiment_id == experiment_pk)
        .order_by(c.created_at, c.dataset_version_id)
    )
    return [(int(r[0]), str(r[1])) for r in conn.execute(stmt)]


def experiments_using(conn: Connection, version_pk: int) -> list[tuple[int, str]]:
    """(experiment key, role) of every experiment that used a dataset version, oldest first."""
    c = dataset_inputs.c
    stmt = (
        select(c.experiment_id, c.role)
        .join(experiments, experiments.c.id == c.experiment_id)
        .where(c.dataset_version_id == version_pk)
        .order_by(experiments.c.id)
    )
    return [(int(r[0]), str(r[1])) for r in conn.execute(stmt)]
