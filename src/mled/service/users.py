"""Users. In embedded mode the operating-system user acts; the store's first user is admin."""

from __future__ import annotations

import time

from sqlalchemy import Connection

from mled.entities import User
from mled.service.audit import AuditWriter
from mled.store.sql import users as user_rows
from mled.store.sql.store import SqlStore
from mled.validation import validate_name


def ensure_local_user(store: SqlStore, username: str) -> User:
    """Return the user named ``username``, registering it on first use.

    The first user of a store becomes its admin (the person who created the embedded store).

    Example:
        >>> ensure_local_user(store, "alice").is_admin  # doctest: +SKIP
        True
    """
    validate_name(username, "user")
    existing = store.read(lambda conn: user_rows.get_user(conn, username))
    if existing is not None:
        return existing

    def run(conn: Connection) -> User:
        user = user_rows.get_user(conn, username)
        if user is not None:
            return user
        now = time.time()
        audit = AuditWriter.open(conn, username, now)
        user = user_rows.insert_user(
            conn, username, is_admin=user_rows.count_users(conn) == 0, created_at=now
        )
        audit.record("user.create", "user", username, after={"is_admin": user.is_admin})
        audit.close()
        return user

    return store.write(run)
