"""Rows of API tokens, failed logins and idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from mled.store.sql.tables import api_tokens, idempotency_keys, login_failures


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None


def _token(r: Any) -> TokenRow:
    return TokenRow(
        r.id,
        r.user_id,
        r.name,
        r.prefix,
        r.created_at,
        r.expires_at,
        r.revoked_at,
        r.last_used_at,
    )


def insert_token(
    conn: Connection,
    *,
    user_id: int,
    name: str,
    prefix: str,
    token_hash: str,
    created_at: float,
    expires_at: float | None,
) -> int:
    result = conn.execute(
        insert(api_tokens).values(
            user_id=user_id,
            name=name,
            prefix=prefix,
            token_hash=token_hash,
            created_at=created_at,
            expires_at=expires_at,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash)).first()
    return None if row is None else _token(row)


def token_by_id(conn: Connection, token_id: int) -> TokenRow | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
    return None if row is None else _token(row)


def list_tokens(conn: Connection, user_id: int | None) -> list[TokenRow]:
    stmt = select(api_tokens).order_by(api_tokens.c.id)
    if user_id is not None:
        stmt = stmt.where(api_tokens.c.user_id == user_id)
    return [_token(r) for r in conn.execute(stmt)]


def revoke_token(conn: Connection, token_id: int, now: float) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=now))


def touch_token(conn: Connection, token_id: int, now: float) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now))


def record_login_failure(conn: Connection, username: str, now: float) -> None:
    conn.execute(insert(login_failures).values(username=username, time=now))


def count_login_failures(conn: Connection, username: str, since: float) -> int:
    stmt = select(func.count()).where(
        login_failures.c.username == username, login_failures.c.time >= since
    )
    return int(conn.execute(stmt).scalar_one())


def prune_login_failures(conn: Connection, before: float) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.time < before))


def idempotent_result(conn: Connection, key: str) -> tuple[int, str | None] | None:
    """(user id, stored result) of an applied request key, or None."""
    row = conn.execute(
        select(idempotency_keys.c.user_id, idempotency_keys.c.result).where(
            idempotency_keys.c.key == key
        )
    ).first()
    return None if row is None else (int(row[0]), row[1])


def save_idempotent_result(
    conn: Connection, key: str, user_id: int, now: float, result: str | None
) -> None:
    conn.execute(
        insert(idempotency_keys).values(key=key, user_id=user_id, created_at=now, result=result)
    )
