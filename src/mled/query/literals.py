"""Decoding of literal tokens: quoted strings, numbers, dates, durations.

Example:
    >>> unescape_string(r"'it\\'s'")
    "it's"
    >>> parse_datetime("2026-01-01")
    1767225600.0
    >>> parse_duration("1.5h")
    5400.0
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from decimal import Decimal

_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_DATE_SHAPE = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?"
)

MILLISECONDS_THRESHOLD = 1e11
"""Numbers compared with time fields at or above this are epoch milliseconds (MLflow's unit).

1e11 seconds is the year 5138, while 1e11 milliseconds is March 1973: no realistic timestamp is
ambiguous.
"""


class LiteralError(ValueError):
    """A literal token is malformed; the message says how to write it."""


def unescape_string(token: str) -> str:
    """Strip the quotes of a string token and resolve ``\\\\ \\' \\" \\n \\t \\r``.

    Any other backslash sequence is kept as it is, so ``'50\\%'`` keeps ``\\%`` for ``like``.

    Example:
        >>> unescape_string('"a\\\\nb"'), unescape_string(r"'50\\%'")
        ('a\\nb', '50\\\\%')
    """
    body = token[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            else:
                out.append(ch + nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def quote_string(value: str) -> str:
    """Write ``value`` as a single-quoted literal that :func:`unescape_string` reverses.

    Example:
        >>> quote_string("it's")
        "'it\\\\'s'"
    """
    text = value.replace("\\", "\\\\").replace("'", "\\'")
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"'{text}'"


def parse_number(token: str) -> float:
    """Parse a number token; infinities from overflow (``1e999``) are refused.

    Example:
        >>> parse_number("1e-3")
        0.001
    """
    value = float(token)
    if not math.isfinite(value):
        raise LiteralError(f"number {token} is out of range")
    return value


def parse_duration(token: str) -> float:
    """Seconds in a duration token: a number and one unit of ``s m h d w``.

    Example:
        >>> parse_duration("7d")
        604800.0
    """
    match = _DURATION.fullmatch(token)
    if match is None:
        raise LiteralError(f"bad duration {token!r}: write a number and a unit of s, m, h, d, w")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_datetime(text: str) -> float:
    """Epoch seconds of an ISO 8601 date or date-time; no time zone means UTC.

    Accepts ``2026-01-01``, ``2026-01-01T10:00``, ``2026-01-01 10:00:00.5``,
    ``2026-01-01T10:00:00Z`` and ``2026-01-01T10:00:00+02:00``.

    Example:
        >>> parse_datetime("2026-01-01T10:00:00+02:00")
        1767254400.0
    """
    stripped = text.strip()
    if not _DATE_SHAPE.fullmatch(stripped):
        raise LiteralError(
            f"bad date {text!r}: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"
        )
    try:
        when = datetime.fromisoformat(stripped)
    except ValueError as err:
        raise LiteralError(f"bad date {text!r}: {err}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def time_from_number(value: float) -> float:
    """Epoch seconds from a number compared with a time field (milliseconds when huge).

    Example:
        >>> time_from_number(1767225600), time_from_number(1767225600000)
        (1767225600, 1767225600.0)
    """
    return value / 1000.0 if abs(value) >= MILLISECONDS_THRESHOLD else value


def format_duration(seconds: float) -> str:
    """Shortest duration token for ``seconds`` (used when rendering ``now - 7d``).

    Example:
        >>> format_duration(604800.0), format_duration(90.0)
        ('1w', '90s')
    """
    for unit in ("w", "d", "h", "m"):
        size = _DURATION_UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{format(Decimal(repr(seconds)), 'f')}s"
