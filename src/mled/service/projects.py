"""Projects: creation (admins), listing (what the caller may read)."""

from __future__ import annotations

from sqlalchemy import Connection

from mled.auth.permissions import Role
from mled.entities import Project
from mled.errors import AlreadyExists, ProjectNotFound
from mled.ids import new_id
from mled.service.audit import AuditWriter
from mled.service.context import ServiceContext
from mled.store.sql import projects as project_rows
from mled.store.sql import users as user_rows
from mled.store.sql.projects import ProjectRow
from mled.validation import validate_name


class ProjectService:
    """Example:
    >>> ProjectService(ctx).create("vision").name  # doctest: +SKIP
    'vision'
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def create(self, name: str, description: str = "") -> Project:
        """Create a project; the creator becomes its admin member."""
        validate_name(name, "project")
        self._ctx.require_admin("creating a project")

        def run(conn: Connection, audit: AuditWriter) -> Project:
            if project_rows.get_project(conn, name) is not None:
                raise AlreadyExists(f"project {name!r} already exists")
            return self._insert(conn, audit, name, description).entity

        return self._ctx.write(run)

    def _insert(
        self, conn: Connection, audit: AuditWriter, name: str, description: str
    ) -> ProjectRow:
        row = project_rows.insert_project(
            conn,
            public_id=new_id(),
            name=name,
            description=description,
            created_at=audit.now,
            created_by=self._ctx.actor.id,
        )
        user_rows.set_role(conn, row.pk, self._ctx.actor.id, Role.ADMIN.value)
        audit.record(
            "project.create",
            "project",
            row.entity.id,
            after={"name": name, "description": description},
        )
        return row

    def get_or_create(self, conn: Connection, audit: AuditWriter, name: str) -> ProjectRow:
        """Inside a write: the named project, created on first use when the caller may."""
        row = project_rows.get_project(conn, name)
        if row is not None:
            return row
        validate_name(name, "project")
        if not self._ctx.actor.is_admin:
            raise ProjectNotFound(
                f"project {name!r} does not exist",
                hint="Ask an admin to create it with `mled projects create NAME`.",
            )
        return self._insert(conn, audit, name, "")

    def list(self) -> list[Project]:
        """Projects the caller may read."""
        actor = self._ctx.actor

        def run(conn: Connection) -> list[Project]:
            only = None if actor.is_admin else user_rows.readable_project_ids(conn, actor.id)
            return [r.entity for r in project_rows.list_projects(conn, only)]

        return self._ctx.read(run)
