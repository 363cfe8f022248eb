"""API tokens: 256 random bits, shown once, stored only as a SHA-256 hash.

Example:
    >>> token = new_token()
    >>> token.startswith(TOKEN_PREFIX), len(token_hash(token))
    (True, 64)
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "mled_"
DISPLAY_PREFIX_LENGTH = 12


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """The part of a token that may be shown in listings to tell tokens apart."""
    return token[:DISPLAY_PREFIX_LENGTH]
