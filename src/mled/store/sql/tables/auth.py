"""Authentication tables: API tokens, failed logins, idempotency keys of applied requests."""

from __future__ import annotations

from sqlalchemy import Column, Double, ForeignKey, Index, Integer, String, Table, Text

from mled.store.sql.tables.meta import NAME_LENGTH, metadata

# API tokens are stored only as SHA-256 hashes (they carry 256 bits of randomness, so a slow
# hash adds nothing); ``prefix`` is the first characters, shown in listings to tell them apart.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=True),
    Column("revoked_at", Double, nullable=True),
    Column("last_used_at", Double, nullable=True),
    Index(None, "user_id"),
)

# Failed logins, for rate limiting across every server process sharing the database.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(NAME_LENGTH), nullable=False),
    Column("time", Double, nullable=False),
    Index(None, "username", "time"),
)

# Idempotency keys of applied requests: a retried or replayed request with a known key returns
# the stored result instead of applying the change twice. Written in the change's transaction.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("result", Text, nullable=True),
)
