"""Rows of the audit log and of its head (the newest sequence number and hash).

Every write transaction locks the head, appends its events and moves the head, so these
statements run with every change; they go to the driver as precomputed parameterized SQL
(see :func:`mled.store.sql.keys.insert_rows`), skipping SQLAlchemy's statement compilation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, select

from mled.store.sql.driver import execute, fetch_rows
from mled.store.sql.keys import insert_rows, placeholder
from mled.store.sql.tables import audit_events, audit_head

GENESIS_HASH = "0" * 64
HEAD_ID = 1

EVENT_COLUMNS = (
    "seq",
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "prev_hash",
    "hash",
)
"""The columns of an audit event row, in the order :func:`insert_events` takes them."""


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head for this transaction (row lock on PostgreSQL) and return it.

    SQLite has no row locks: its write transactions already hold the database lock
    (``BEGIN IMMEDIATE``), which serializes the chain just as well.

    Example:
        >>> lock_head(conn)  # doctest: +SKIP
        (0, '0000000000000000000000000000000000000000000000000000000000000000')
    """
    row = _head_row(conn)
    if row is None:
        insert_rows(conn, audit_head, ("id", "seq", "hash"), [(HEAD_ID, 0, GENESIS_HASH)])
        row = _head_row(conn)
        assert row is not None
    return int(row[0]), str(row[1])


def _head_row(conn: Connection) -> Any:
    mark = placeholder(conn.dialect)
    lock = " FOR UPDATE" if conn.dialect.name == "postgresql" else ""
    sql = f"SELECT seq, hash FROM audit_head WHERE id = {mark}{lock}"
    found = fetch_rows(conn, sql, (HEAD_ID,))
    return found[0] if found else None


def read_head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def insert_events(conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Append events, each a tuple of the ``EVENT_COLUMNS`` values (ints, floats, str, None).

    Example:
        >>> event = (1, 1.7e9, "alice", "project.create", "project", "0190...",
        ...          None, '{"name":"vision"}', "0" * 64, "9f2c...")
        >>> insert_events(conn, [event])  # doctest: +SKIP
    """
    insert_rows(conn, audit_events, EVENT_COLUMNS, rows)


def set_head(conn: Connection, seq: int, hash_: str) -> None:
    """Move the head to event ``seq`` whose hash is ``hash_``.

    Example:
        >>> set_head(conn, 12, "9f2c...")  # doctest: +SKIP
    """
    mark = placeholder(conn.dialect)
    sql = f"UPDATE audit_head SET seq = {mark}, hash = {mark} WHERE id = {mark}"
    execute(conn, sql, (seq, hash_, HEAD_ID))


def iter_events(conn: Connection, *, after_seq: int = 0, limit: int | None = None) -> Iterator[Any]:
    stmt = select(audit_events).where(audit_events.c.seq > after_seq).order_by(audit_events.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from conn.execute(stmt)
