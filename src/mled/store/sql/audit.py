"""Rows of the audit log and of its head (the newest sequence number and hash)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mled.store.sql.tables import audit_events, audit_head

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the chain head for this transaction (row lock on PostgreSQL) and return it."""
    stmt = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    row = conn.execute(stmt.with_for_update()).first()
    if row is None:
        conn.execute(insert(audit_head).values(id=HEAD_ID, seq=0, hash=GENESIS_HASH))
        row = conn.execute(stmt.with_for_update()).first()
        assert row is not None
    return int(row[0]), str(row[1])


def read_head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(audit_events), rows)


def set_head(conn: Connection, seq: int, hash_: str) -> None:
    conn.execute(update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=seq, hash=hash_))


def iter_events(conn: Connection, *, after_seq: int = 0, limit: int | None = None) -> Iterator[Any]:
    stmt = select(audit_events).where(audit_events.c.seq > after_seq).order_by(audit_events.c.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    yield from conn.execute(stmt)
