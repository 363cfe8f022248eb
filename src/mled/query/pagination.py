"""Opaque page tokens for keyset pagination.

A token holds the sort values of the last row of a page, that row's integer key (the final
tiebreak), how many rows were returned so far (for ``limit N``), the instant ``now`` stood for
(so ``created > now - 1d`` means the same on every page) and a fingerprint of the query, so a
token cannot be replayed against another query. It is URL-safe base64 of JSON: not secret,
but every field is validated on the way back in, and values only ever become bound parameters.

Example:
    >>> token = PageToken("f00d", (0.5, "a", None), 42, 10, 1767225600.0).encode()
    >>> PageToken.decode(token, fingerprint="f00d", kinds=("num", "text", "num"))
    PageToken(fingerprint='f00d', values=(0.5, 'a', None), last_key=42, seen=10, now=1767225600.0)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from mled.errors import InvalidInput
from mled.query.ast import Query

SortValue: TypeAlias = float | int | str | None
ColumnKind: TypeAlias = Literal["num", "text"]

_VERSION = 1
_MAX_TOKEN_LENGTH = 64_000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def fingerprint(query: Query) -> str:
    """A short digest of the filter and sort order (``limit`` excluded).

    Example:
        >>> len(fingerprint(Query()))
        16
    """
    text = repr((query.where, query.order_by))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _bad(reason: str) -> InvalidInput:
    return InvalidInput(
        f"invalid page token: {reason}",
        hint="Pass back the next_page_token of the previous page of the same query unchanged.",
    )


def _check_value(value: Any, kind: ColumnKind) -> SortValue:
    if value is None:
        return None
    if kind == "text":
        if isinstance(value, str):
            return value
        raise _bad("a text sort value is not a string")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad("a numeric sort value is not a number")
    if isinstance(value, float) and math.isnan(value):
        raise _bad("a sort value is NaN")
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        raise _bad("a sort value is out of range")
    return value


@dataclass(frozen=True, slots=True)
class PageToken:
    """The decoded content of a page token."""

    fingerprint: str
    values: tuple[SortValue, ...]
    last_key: int
    seen: int
    now: float

    def encode(self) -> str:
        """The opaque string handed to clients."""
        body = {
            "v": _VERSION,
            "f": self.fingerprint,
            "k": list(self.values),
            "i": self.last_key,
            "n": self.seen,
            "t": self.now,
        }
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, token: str, *, fingerprint: str, kinds: Sequence[ColumnKind]) -> PageToken:
        """Validate and decode ``token`` for a query with this fingerprint and sort columns."""
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise _bad("empty or too long")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            body = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise _bad("not a token MLED issued") from None
        if not isinstance(body, dict) or body.get("v") != _VERSION:
            raise _bad("unknown token version")
        if body.get("f") != fingerprint:
            raise _bad("it belongs to a different query or sort order")
        values, key, seen, now = body.get("k"), body.get("i"), body.get("n"), body.get("t")
        if not isinstance(values, list) or len(values) != len(kinds):
            raise _bad("wrong number of sort values")
        if type(key) is not int or type(seen) is not int or seen < 0:
            raise _bad("bad position")
        if not (_INT64_MIN <= key <= _INT64_MAX and seen <= _INT64_MAX):
            raise _bad("position out of range")
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise _bad("bad time")
        checked = tuple(_check_value(v, k) for v, k in zip(values, kinds, strict=True))
        return cls(fingerprint, checked, key, seen, float(now))
