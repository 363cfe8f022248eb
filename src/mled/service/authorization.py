"""Authorization checks used by every service method (deny by default)."""

from __future__ import annotations

from sqlalchemy import Connection

from mled.auth.permissions import Action, Role, allowed
from mled.entities import User
from mled.errors import PermissionDenied
from mled.store.sql import users as user_rows


def role_in(conn: Connection, actor: User, project_pk: int) -> Role | None:
    """The actor's effective role in a project (global admins are admin everywhere)."""
    if actor.is_admin:
        return Role.ADMIN
    role = user_rows.get_role(conn, project_pk, actor.id)
    return None if role is None else Role(role)


def authorize(
    conn: Connection,
    actor: User,
    action: Action,
    project_pk: int,
    project_name: str,
    *,
    owner_id: int | None = None,
) -> Role:
    """Raise PermissionDenied naming the missing permission unless ``actor`` may act."""
    role = role_in(conn, actor, project_pk)
    if allowed(role, action, is_owner=owner_id is not None and owner_id == actor.id):
        assert role is not None
        return role
    held = f"role {role.value!r}" if role else "no role"
    raise PermissionDenied(
        f"user {actor.username!r} has {held} in project {project_name!r}, which lacks the "
        f"{action.value!r} permission",
        details={"permission": action.value, "project": project_name},
    )


def authorize_anywhere(conn: Connection, actor: User, action: Action) -> Role:
    """Allow ``action`` when the actor's role in at least one project grants it.

    For actions that are not about one project (reading the whole audit log): an auditor of
    any project may, admins always may. Raises PermissionDenied naming the permission.
    """
    if actor.is_admin:
        return Role.ADMIN
    for project_pk in user_rows.readable_project_ids(conn, actor.id):
        role = role_in(conn, actor, project_pk)
        if allowed(role, action):
            assert role is not None
            return role
    raise PermissionDenied(
        f"user {actor.username!r} holds no role with the {action.value!r} permission in any "
        "project",
        details={"permission": action.value},
    )


def require_admin(actor: User, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(
            f"user {actor.username!r} is not an admin; {what} needs the 'manage' permission",
            details={"permission": Action.MANAGE.value},
        )
