"""Rows of users and memberships."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from mled.entities import User
from mled.store.sql.tables import memberships, users


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        is_admin=bool(row.is_admin),
        disabled=bool(row.disabled),
    )


def get_user(conn: Connection, username: str) -> User | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return None if row is None else _user(row)


def get_user_by_id(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return None if row is None else _user(row)


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def insert_user(
    conn: Connection,
    username: str,
    *,
    is_admin: bool,
    created_at: float,
    password_hash: str | None = None,
) -> User:
    user_id = conn.execute(
        insert(users).values(
            username=username,
            is_admin=is_admin,
            disabled=False,
            created_at=created_at,
            password_hash=password_hash,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    return User(id=int(user_id), username=username, is_admin=is_admin)


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def get_role(conn: Connection, project_id: int, user_id: int) -> str | None:
    return conn.execute(
        select(memberships.c.role).where(
            memberships.c.project_id == project_id, memberships.c.user_id == user_id
        )
    ).scalar_one_or_none()


def set_role(conn: Connection, project_id: int, user_id: int, role: str) -> None:
    key = (memberships.c.project_id == project_id) & (memberships.c.user_id == user_id)
    if conn.execute(select(memberships.c.role).where(key)).first() is None:
        conn.execute(insert(memberships).values(project_id=project_id, user_id=user_id, role=role))
    else:
        conn.execute(memberships.update().where(key).values(role=role))


def readable_project_ids(conn: Connection, user_id: int) -> list[int]:
    """Projects where the user holds any role (every role may read)."""
    rows = conn.execute(select(memberships.c.project_id).where(memberships.c.user_id == user_id))
    return [int(r[0]) for r in rows]


def remove_role(conn: Connection, project_id: int, user_id: int) -> None:
    conn.execute(
        memberships.delete().where(
            memberships.c.project_id == project_id, memberships.c.user_id == user_id
        )
    )


def project_members(conn: Connection, project_id: int) -> dict[str, str]:
    stmt = (
        select(users.c.username, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.project_id == project_id)
        .order_by(users.c.username)
    )
    return {r[0]: r[1] for r in conn.execute(stmt)}


def set_disabled(conn: Connection, user_id: int, disabled: bool) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(disabled=disabled))


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(users.update().where(users.c.id == user_id).values(password_hash=password_hash))


def get_password_hash(conn: Connection, username: str) -> tuple[User, str | None] | None:
    row = conn.execute(select(users).where(users.c.username == username)).first()
    return None if row is None else (_user(row), row.password_hash)
