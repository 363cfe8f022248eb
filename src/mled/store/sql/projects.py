"""Rows of projects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from mled.entities import Project, to_datetime
from mled.store.sql.driver import fetch_rows
from mled.store.sql.keys import placeholder
from mled.store.sql.tables import projects


@dataclass(frozen=True, slots=True)
class ProjectRow:
    """A project with its integer key, for use inside the service layer."""

    pk: int
    entity: Project


def _project_row(
    pk: int, public_id: str, name: str, description: str, created_at: float
) -> ProjectRow:
    created = to_datetime(created_at)
    assert created is not None
    return ProjectRow(pk=pk, entity=Project(public_id, name, description, created))


def _row(row: Any) -> ProjectRow:
    return _project_row(row.id, row.public_id, row.name, row.description, row.created_at)


def get_project(conn: Connection, name: str) -> ProjectRow | None:
    """The project named ``name`` (the exact, case-sensitive name), or None.

    Every experiment creation looks its project up, so the statement goes to the driver as
    precomputed parameterized SQL (:mod:`mled.store.sql.driver`).

    Example:
        >>> get_project(conn, "vision").entity.name  # doctest: +SKIP
        'vision'
    """
    mark = placeholder(conn.dialect)
    sql = f"SELECT id, public_id, name, description, created_at FROM projects WHERE name = {mark}"
    found = fetch_rows(conn, sql, (name,))
    return _project_row(*found[0]) if found else None


def get_project_by_pk(conn: Connection, pk: int) -> ProjectRow | None:
    row = conn.execute(select(projects).where(projects.c.id == pk)).first()
    return None if row is None else _row(row)


def insert_project(
    conn: Connection,
    *,
    public_id: str,
    name: str,
    description: str,
    created_at: float,
    created_by: int,
) -> ProjectRow:
    pk = conn.execute(
        insert(projects).values(
            public_id=public_id,
            name=name,
            description=description,
            created_at=created_at,
            created_by=created_by,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return _project_row(int(pk), public_id, name, description, created_at)


def list_projects(conn: Connection, only: list[int] | None = None) -> list[ProjectRow]:
    stmt = select(projects).order_by(projects.c.name)
    if only is not None:
        stmt = stmt.where(projects.c.id.in_(only))
    return [_row(r) for r in conn.execute(stmt)]
