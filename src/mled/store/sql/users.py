"""Rows of users and memberships."""

from __future__ import annotations

from sqlalchemy import Connection, func, insert, select

from mled.entities import User
from mled.store.sql.tables import memberships, users


def _user(row: object) -> User:
    return User(
        id=row.id,  # type: ignore[attr-defined]
        username=row.username,  # type: ignore[attr-defined]
        is_admin=bool(row.is_admin),  # type: ignore[attr-defined]
        disabled=bool(row.disabled),  # type: ignore[attr-defined]
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
