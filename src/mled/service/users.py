"""Users and memberships: registration, roles per project, disabling (admins only).

In embedded mode the operating-system user acts and is registered on first use; the store's
first user becomes its admin (the person who created the store).
"""

from __future__ import annotations

import secrets
import time

from sqlalchemy import Connection

from mled.auth.passwords import check_password_strength, hash_password
from mled.auth.permissions import Role
from mled.entities import User
from mled.errors import AlreadyExists, InvalidInput, ProjectNotFound, UserNotFound
from mled.service.audit import AuditWriter
from mled.service.context import ServiceContext
from mled.store.sql import projects as project_rows
from mled.store.sql import users as user_rows
from mled.store.sql.store import SqlStore
from mled.validation import validate_name


def ensure_local_user(store: SqlStore, username: str) -> User:
    """Return the user named ``username``, registering it on first use.

    Example:
        >>> ensure_local_user(store, "alice").is_admin  # doctest: +SKIP
        True
    """
    validate_name(username, "user")
    existing = store.read(lambda conn: user_rows.get_user(conn, username))
    if existing is not None:
        return existing

    def run(conn: Connection) -> User:
        now = time.time()
        # Lock the audit head first: it serializes concurrent first uses on PostgreSQL too, so
        # the check below sees any registration that committed while this one waited.
        audit = AuditWriter.open(conn, username, now)
        user = user_rows.get_user(conn, username)
        if user is not None:
            return user
        user = user_rows.insert_user(
            conn, username, is_admin=user_rows.count_users(conn) == 0, created_at=now
        )
        audit.record("user.create", "user", username, after={"is_admin": user.is_admin})
        audit.close()
        return user

    return store.write(run)


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(
            f"{role!r} is not a role",
            hint=f"Use one of: {', '.join(r.value for r in Role)}.",
        ) from None


class UserService:
    """Example:
    >>> UserService(ctx).create("bob", password="a long passphrase")  # doctest: +SKIP
    User(id=2, username='bob', is_admin=False, disabled=False)
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def create(self, username: str, *, password: str | None = None, admin: bool = False) -> User:
        validate_name(username, "user")
        self._ctx.require_admin("creating users")
        if password is not None:
            check_password_strength(password)
        hashed = None if password is None else hash_password(password)

        def run(conn: Connection, audit: AuditWriter) -> User:
            if user_rows.get_user(conn, username) is not None:
                raise AlreadyExists(f"user {username!r} already exists")
            user = user_rows.insert_user(
                conn, username, is_admin=admin, created_at=audit.now, password_hash=hashed
            )
            audit.record("user.create", "user", username, after={"is_admin": admin})
            return user

        return self._ctx.write(run)

    def set_password(self, username: str, password: str) -> None:
        """Admins set anyone's password; users their own."""
        if username != self._ctx.actor.username:
            self._ctx.require_admin("setting another user's password")
        check_password_strength(password)
        hashed = hash_password(password)

        def run(conn: Connection, audit: AuditWriter) -> None:
            user = self._user(conn, username)
            user_rows.set_password_hash(conn, user.id, hashed)
            audit.record("user.password", "user", username)

        self._ctx.write(run)

    def list(self) -> list[User]:
        self._ctx.require_admin("listing users")
        return self._ctx.read(user_rows.list_users)

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        self._ctx.require_admin("disabling users")
        if username == self._ctx.actor.username and disabled:
            raise InvalidInput("you cannot disable yourself", hint="Ask another admin.")

        def run(conn: Connection, audit: AuditWriter) -> None:
            user = self._user(conn, username)
            user_rows.set_disabled(conn, user.id, disabled)
            audit.record(
                "user.disable" if disabled else "user.enable",
                "user",
                username,
                before={"disabled": user.disabled},
                after={"disabled": disabled},
            )

        self._ctx.write(run)

    def set_role(self, project: str, username: str, role: str | None) -> None:
        """Grant ``role`` in ``project`` (None removes the membership)."""
        self._ctx.require_admin("managing memberships")
        new_role = None if role is None else parse_role(role)

        def run(conn: Connection, audit: AuditWriter) -> None:
            proj = project_rows.get_project(conn, project)
            if proj is None:
                raise ProjectNotFound(f"project {project!r} does not exist")
            user = self._user(conn, username)
            before = user_rows.get_role(conn, proj.pk, user.id)
            if new_role is None:
                user_rows.remove_role(conn, proj.pk, user.id)
            else:
                user_rows.set_role(conn, proj.pk, user.id, new_role.value)
            audit.record(
                "membership.set",
                "project",
                proj.entity.id,
                before={"user": username, "role": before},
                after={"user": username, "role": None if new_role is None else new_role.value},
            )

        self._ctx.write(run)

    def memberships(self, project: str) -> dict[str, str]:
        """{username: role} of a project."""
        self._ctx.require_admin("listing memberships")

        def run(conn: Connection) -> dict[str, str]:
            proj = project_rows.get_project(conn, project)
            if proj is None:
                raise ProjectNotFound(f"project {project!r} does not exist")
            return user_rows.project_members(conn, proj.pk)

        return self._ctx.read(run)

    @staticmethod
    def _user(conn: Connection, username: str) -> User:
        user = user_rows.get_user(conn, username)
        if user is None:
            raise UserNotFound(f"user {username!r} does not exist")
        return user


def create_first_admin(store: SqlStore, username: str = "admin") -> str | None:
    """Give a server its first login: ``username`` as an admin with a random password.

    Returns the password (shown once, stored only as an argon2 hash) when the user was created,
    None when it already existed. There is never a fixed default password.

    Example:
        >>> create_first_admin(store)  # doctest: +SKIP
        'V3q9...'
    """
    validate_name(username, "user")
    password = secrets.token_urlsafe(12)
    hashed = hash_password(password)

    def run(conn: Connection) -> str | None:
        if user_rows.get_user(conn, username) is not None:
            return None
        now = time.time()
        audit = AuditWriter.open(conn, username, now)
        user_rows.insert_user(conn, username, is_admin=True, created_at=now, password_hash=hashed)
        audit.record("user.create", "user", username, after={"is_admin": True})
        audit.close()
        return password

    return store.write(run)
