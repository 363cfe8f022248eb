"""Lookups of objects named uniquely within a project (datasets, registered models).

Both tables have ``id``, ``public_id``, ``project_id`` and ``name`` with ``(project_id, name)``
unique, so one pair of queries serves both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, select

from mled.store.sql.tables import projects


@dataclass(frozen=True, slots=True)
class NamedKey:
    """An object's integer keys and names, for use inside the service layer."""

    pk: int
    public_id: str
    project_pk: int
    project: str
    name: str


def _key_select(table: Table) -> Any:
    return select(
        table.c.id, table.c.public_id, table.c.project_id, projects.c.name, table.c.name
    ).join(projects, projects.c.id == table.c.project_id)


def find_named(
    conn: Connection, table: Table, name: str, project_ids: list[int] | None
) -> list[NamedKey]:
    """Objects of ``table`` called ``name`` in the given projects (None: every project)."""
    stmt = _key_select(table).where(table.c.name == name).order_by(projects.c.name)
    if project_ids is not None:
        stmt = stmt.where(table.c.project_id.in_(project_ids))
    return [NamedKey(*r) for r in conn.execute(stmt)]


def get_named(conn: Connection, table: Table, project_pk: int, name: str) -> NamedKey | None:
    """The object of ``table`` called ``name`` in one project, or None."""
    stmt = _key_select(table).where(table.c.project_id == project_pk, table.c.name == name)
    row = conn.execute(stmt).first()
    return None if row is None else NamedKey(*row)
