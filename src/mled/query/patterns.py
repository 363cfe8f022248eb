"""``like`` patterns: one parse, exact translations to SQLite GLOB and to a regex.

(The translation to SQL ``LIKE`` lives with the other dialect details in
:mod:`mled.query.dialect`.)

A pattern has ``%`` (any run of characters), ``_`` (exactly one character) and ``\\`` escaping
the next character (``\\%`` is a literal percent sign). Case-insensitive matching (``ilike``)
folds ASCII letters only, which is what SQLite's LIKE does; PostgreSQL is made to do the same.

Example:
    >>> to_glob("a*%"), bool(to_regex("re%").fullmatch("resnet"))
    ('a[*]*', True)
"""

from __future__ import annotations

import re

ANY = "%"
ONE = "_"
ESCAPE = "\\"  # in a user's pattern, makes the next character literal

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ASCII_LOWER = str.maketrans(_UPPER, _LOWER)
ASCII_UPPERCASE = _UPPER
ASCII_LOWERCASE = _LOWER

Token = tuple[str, str]  # ("lit", char) | ("any", "") | ("one", "")


def tokenize(pattern: str) -> list[Token]:
    """Split a pattern into literal characters and wildcards.

    Example:
        >>> tokenize("a\\\\%%")
        [('lit', 'a'), ('lit', '%'), ('any', '')]
    """
    out: list[Token] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == ESCAPE and i + 1 < len(pattern):
            out.append(("lit", pattern[i + 1]))
            i += 2
            continue
        if ch == ANY:
            out.append(("any", ""))
        elif ch == ONE:
            out.append(("one", ""))
        else:
            out.append(("lit", ch))
        i += 1
    return out


def ascii_lower(text: str) -> str:
    """Lower-case ASCII letters only (the case folding of SQLite's LIKE).

    Example:
        >>> ascii_lower("ÉCOLE Net")
        'École net'
    """
    return text.translate(_ASCII_LOWER)


def to_glob(pattern: str) -> str:
    """The equivalent SQLite GLOB pattern (GLOB is case-sensitive; ``[*]`` is a literal ``*``).

    Example:
        >>> to_glob("v_t[1]%")
        'v?t[[]1]*'
    """
    parts: list[str] = []
    for kind, ch in tokenize(pattern):
        if kind == "any":
            parts.append("*")
        elif kind == "one":
            parts.append("?")
        elif ch in "*?[":
            parts.append(f"[{ch}]")
        else:
            parts.append(ch)
    return "".join(parts)


def to_regex(pattern: str, *, case_sensitive: bool = True) -> re.Pattern[str]:
    """A compiled regex that ``fullmatch``-es exactly what the pattern matches.

    For ``case_sensitive=False`` match it against :func:`ascii_lower` of the value.

    Example:
        >>> to_regex("a_%").pattern
        'a..*'
    """
    source = pattern if case_sensitive else ascii_lower(pattern)
    parts: list[str] = []
    for kind, ch in tokenize(source):
        if kind == "any":
            parts.append(".*")
        elif kind == "one":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def like_matches(value: str, pattern: str, *, case_sensitive: bool = True) -> bool:
    """Whether ``value`` matches ``pattern`` (the reference semantics of ``like``/``ilike``).

    Example:
        >>> like_matches("ResNet50", "res%"), like_matches("ResNet50", "res%", case_sensitive=False)
        (False, True)
    """
    regex = to_regex(pattern, case_sensitive=case_sensitive)
    subject = value if case_sensitive else ascii_lower(value)
    return regex.fullmatch(subject) is not None
