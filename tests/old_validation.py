"""``validate_key`` as it was before its fast path: the oracle of the equivalence tests of
``tests/service/test_audit_encoding.py`` and ``tests/store/test_codec.py`` (its messages
matter: ``encode_batch`` raises them)."""

from __future__ import annotations

import re

from mled.errors import InvalidKey

OLD_KEY_RE = re.compile(r"^[A-Za-z0-9_\-. :/]+$")


def old_validate_key(key: object, kind: str) -> str:
    if not isinstance(key, str):
        raise InvalidKey(f"{kind} key {key!r} is a {type(key).__name__}, not a string")
    if not key or not key.strip():
        raise InvalidKey(f"{kind} key is empty")
    if len(key) > 250:
        raise InvalidKey(
            f"{kind} key {key[:40]!r}... is {len(key)} characters long; the limit is 250"
        )
    if not OLD_KEY_RE.match(key):
        bad = sorted({c for c in key if not OLD_KEY_RE.match(c)})
        raise InvalidKey(f"{kind} key {key!r} contains forbidden characters {bad}")
    if key != key.strip() or ".." in key.split("/") or key.startswith("/"):
        raise InvalidKey(f"{kind} key {key!r} has surrounding spaces or a '..'/leading '/'")
    return key
