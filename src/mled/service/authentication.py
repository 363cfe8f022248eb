"""Logging in and API tokens: passwords checked with argon2, tokens stored only as hashes.

Failed logins are audited and rate limited per user name across every server process (they
are counted in the database), so guessing is slow even behind a load balancer.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from functools import lru_cache

from sqlalchemy import Connection

from mled.auth.passwords import hash_password, verify_password
from mled.auth.tokens import display_prefix, new_token, token_hash
from mled.entities import IssuedToken, TokenInfo, User
from mled.errors import InvalidInput, NotFound, RateLimited, Unauthenticated
from mled.service.audit import AuditWriter
from mled.service.context import ServiceContext
from mled.store.sql import accounts as account_rows
from mled.store.sql import users as user_rows
from mled.store.sql.accounts import TokenRow
from mled.store.sql.store import SqlStore

MAX_FAILURES = 5
FAILURE_WINDOW = 300.0
LOGIN_TOKEN_DAYS = 30
TOUCH_INTERVAL = 60.0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def _info(row: TokenRow, username: str) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        username=username,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
        last_used_at=row.last_used_at,
    )


def _issue(
    conn: Connection, audit: AuditWriter, user: User, name: str, days: float | None
) -> IssuedToken:
    if days is not None and days <= 0:
        raise InvalidInput("a token's lifetime must be positive", hint="Use e.g. --days 90.")
    token = new_token()
    expires = None if days is None else audit.now + days * 86400.0
    token_id = account_rows.insert_token(
        conn,
        user_id=user.id,
        name=name,
        prefix=display_prefix(token),
        token_hash=token_hash(token),
        created_at=audit.now,
        expires_at=expires,
    )
    audit.record(
        "token.create",
        "token",
        str(token_id),
        after={"user": user.username, "name": name, "expires_at": expires},
    )
    row = account_rows.token_by_id(conn, token_id)
    assert row is not None
    return IssuedToken(token=token, info=_info(row, user.username))


class AuthService:
    """Turns credentials into users. Needs no acting user (it decides who acts).

    Example:
        >>> issued = AuthService(store).login("alice", "a long passphrase")  # doctest: +SKIP
        >>> AuthService(store).user_for_token(issued.token).username  # doctest: +SKIP
        'alice'
    """

    def __init__(self, store: SqlStore, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def login(self, username: str, password: str) -> IssuedToken:
        """A new API token for a correct password; failures are counted and audited."""
        now = self._clock()
        failures = self._store.read(
            lambda conn: account_rows.count_login_failures(conn, username, now - FAILURE_WINDOW)
        )
        if failures >= MAX_FAILURES:
            raise RateLimited(f"too many failed logins for {username!r}; login is paused")
        found = self._store.read(lambda conn: user_rows.get_password_hash(conn, username))
        ok = (
            found is not None
            and found[1] is not None
            and not found[0].disabled
            and verify_password(found[1], password)
        )
        if not ok or found is None:
            self._record_failure(username, now)
            raise Unauthenticated(
                "wrong user name or password",
                hint="Check both; after 5 failures login is paused for 5 minutes.",
            )
        user = found[0]

        def run(conn: Connection) -> IssuedToken:
            audit = AuditWriter.open(conn, username, now)
            issued = _issue(conn, audit, user, "login", LOGIN_TOKEN_DAYS)
            audit.close()
            return issued

        return self._store.write(run)

    def _record_failure(self, username: str, now: float) -> None:
        def run(conn: Connection) -> None:
            account_rows.prune_login_failures(conn, now - FAILURE_WINDOW)
            account_rows.record_login_failure(conn, username, now)
            audit = AuditWriter.open(conn, username[:200], now)
            audit.record("auth.login_failed", "user", username[:64])
            audit.close()

        self._store.write(run)

    def user_for_token(self, token: str) -> User:
        """The user a bearer token belongs to; forged, expired and revoked tokens get 401."""
        now = self._clock()

        def run(conn: Connection) -> tuple[User, TokenRow]:
            row = account_rows.token_by_hash(conn, token_hash(token))
            if row is None:
                raise Unauthenticated("the API token is not valid")
            if row.revoked_at is not None:
                raise Unauthenticated("the API token was revoked")
            if row.expires_at is not None and row.expires_at <= now:
                raise Unauthenticated("the API token has expired")
            user = user_rows.get_user_by_id(conn, row.user_id)
            if user is None or user.disabled:
                raise Unauthenticated("the API token's user is disabled")
            return user, row

        user, row = self._store.read(run)
        if row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL:
            self._store.write(lambda conn: account_rows.touch_token(conn, row.id, now))
        return user


class TokenService:
    """The acting user's API tokens (admins may manage everyone's)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def create(
        self, name: str, *, days: float | None = 90, username: str | None = None
    ) -> IssuedToken:
        actor = self._ctx.actor
        if username is not None and username != actor.username:
            self._ctx.require_admin("creating tokens for another user")

        def run(conn: Connection, audit: AuditWriter) -> IssuedToken:
            user = actor if username is None else user_rows.get_user(conn, username)
            if user is None:
                raise NotFound(f"user {username!r} does not exist")
            return _issue(conn, audit, user, name, days)

        return self._ctx.write(run)

    def list(self, *, all_users: bool = False) -> list[TokenInfo]:
        actor = self._ctx.actor
        if all_users:
            self._ctx.require_admin("listing every user's tokens")

        def run(conn: Connection) -> list[TokenInfo]:
            names = {u.id: u.username for u in user_rows.list_users(conn)}
            rows = account_rows.list_tokens(conn, None if all_users else actor.id)
            return [_info(r, names.get(r.user_id, "?")) for r in rows]

        return self._ctx.read(run)

    def revoke(self, token_id: int) -> None:
        actor = self._ctx.actor

        def run(conn: Connection, audit: AuditWriter) -> None:
            row = account_rows.token_by_id(conn, token_id)
            if row is None or (row.user_id != actor.id and not actor.is_admin):
                raise NotFound(
                    f"you have no token with id {token_id}",
                    hint="List your tokens with `mled tokens list`.",
                )
            if row.revoked_at is None:
                account_rows.revoke_token(conn, token_id, audit.now)
                audit.record("token.revoke", "token", str(token_id))

        self._ctx.write(run)
