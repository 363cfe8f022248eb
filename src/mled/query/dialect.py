"""The SQL constructs whose spelling differs between SQLite and PostgreSQL.

* :class:`BinaryCollate` makes text compare and sort by code point on both: SQLite's default
  ``BINARY`` collation already does; PostgreSQL needs ``COLLATE "C"`` (its default collation
  follows the locale, e.g. ``'a' < 'B'``).
* :class:`LikeMatch` is ``like`` (case-sensitive) and ``ilike`` (ASCII case-insensitive) with
  the same results on both. SQLite's ``LIKE`` ignores ASCII case, so case-sensitive matching
  uses ``GLOB`` with an equivalent pattern; PostgreSQL's ``ILIKE`` folds non-ASCII letters
  too, so it lower-cases ASCII letters with ``translate()`` and uses ``LIKE``.
* :class:`Likely` tells SQLite's planner how often a condition holds (``likelihood()``);
  PostgreSQL estimates from its own histograms, so there it is the condition alone.

Patterns are always bound parameters; only fixed text (``ESCAPE '!'``, the alphabet given to
``translate``) is written into the SQL.

Example:
    >>> from sqlalchemy import column
    >>> from sqlalchemy.dialects import postgresql, sqlite
    >>> expr = like_match(column("name"), "res%", case_sensitive=True)
    >>> str(expr.compile(dialect=sqlite.dialect()))
    'name GLOB ?'
    >>> str(expr.compile(dialect=postgresql.dialect()))
    "name LIKE %(param_1)s::VARCHAR ESCAPE '!'"
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Boolean, ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from mled.query.patterns import ASCII_LOWERCASE, ASCII_UPPERCASE, ascii_lower, to_glob, tokenize

LIKE_ESCAPE = "!"


def to_escaped_like(pattern: str) -> str:
    """The user pattern as a LIKE pattern whose escape character is ``!``.

    Example:
        >>> to_escaped_like("50\\\\%!_%")
        '50!%!!_%'
    """
    parts: list[str] = []
    for kind, ch in tokenize(pattern):
        if kind == "any":
            parts.append("%")
        elif kind == "one":
            parts.append("_")
        elif ch in ("%", "_", LIKE_ESCAPE):
            parts.append(LIKE_ESCAPE + ch)
        else:
            parts.append(ch)
    return "".join(parts)


class BinaryCollate(ColumnElement[Any]):
    """``expr`` compared and sorted by code point (``COLLATE "C"`` on PostgreSQL)."""

    inherit_cache = True
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, expr: ColumnElement[Any]) -> None:
        self.expr = expr
        self.type = expr.type


@compiles(BinaryCollate)
def _collate_default(element: BinaryCollate, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(BinaryCollate, "postgresql")
def _collate_postgresql(element: BinaryCollate, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.expr, **kw)} COLLATE "C"'


class Likely(ColumnElement[bool]):
    """``clause``, which the SQLite planner assumes true for a ``probability`` of rows.

    Example:
        >>> from sqlalchemy import column
        >>> from sqlalchemy.dialects import postgresql, sqlite
        >>> expr = Likely(column("last") > 0.5, 0.5)
        >>> str(expr.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        'likelihood(last > 0.5, 0.5)'
        >>> str(expr.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
        'last > 0.5'
    """

    inherit_cache = True
    type = Boolean()
    _traverse_internals = [  # noqa: RUF012
        ("clause", InternalTraversal.dp_clauseelement),
        ("probability", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, clause: ColumnElement[bool], probability: float) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"a probability, not {probability}")
        self.clause = clause
        self.probability = probability


@compiles(Likely)
def _likely_default(element: Likely, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clause, **kw)


@compiles(Likely, "sqlite")
def _likely_sqlite(element: Likely, compiler: SQLCompiler, **kw: Any) -> str:
    # The probability is a constant of the code, written in: likelihood() takes no parameter.
    return f"likelihood({compiler.process(element.clause, **kw)}, {element.probability!r})"


class LikeMatch(ColumnElement[bool]):
    """``expr like pattern`` with identical results on SQLite and PostgreSQL."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: no "= 1" appended on SQLite
    _traverse_internals = [  # noqa: RUF012
        ("expr", InternalTraversal.dp_clauseelement),
        ("like_pattern", InternalTraversal.dp_clauseelement),
        ("glob_pattern", InternalTraversal.dp_clauseelement),
        ("case_sensitive", InternalTraversal.dp_boolean),
    ]

    def __init__(
        self,
        expr: ColumnElement[Any],
        like_pattern: BindParameter[str],
        glob_pattern: BindParameter[str],
        case_sensitive: bool,
    ) -> None:
        self.expr = expr
        self.like_pattern = like_pattern
        self.glob_pattern = glob_pattern
        self.case_sensitive = case_sensitive


def like_match(expr: ColumnElement[Any], pattern: str, *, case_sensitive: bool) -> LikeMatch:
    """Build the dialect-neutral ``like``/``ilike`` test of ``expr`` against a user pattern.

    Example:
        >>> from sqlalchemy import column
        >>> from sqlalchemy.dialects import sqlite
        >>> test = like_match(column("tag"), "VIS%", case_sensitive=False)
        >>> compiled = test.compile(dialect=sqlite.dialect())
        >>> str(compiled), list(compiled.params.values())
        ("tag LIKE ? ESCAPE '!'", ['vis%'])
    """
    source = pattern if case_sensitive else ascii_lower(pattern)
    like: BindParameter[str] = bindparam(None, to_escaped_like(source), unique=True)
    glob: BindParameter[str] = bindparam(None, to_glob(source), unique=True)
    return LikeMatch(expr, like, glob, case_sensitive)


@compiles(LikeMatch, "sqlite")
def _like_sqlite(element: LikeMatch, compiler: SQLCompiler, **kw: Any) -> str:
    expr = compiler.process(element.expr, **kw)
    if element.case_sensitive:
        return f"{expr} GLOB {compiler.process(element.glob_pattern, **kw)}"
    return f"{expr} LIKE {compiler.process(element.like_pattern, **kw)} ESCAPE '{LIKE_ESCAPE}'"


@compiles(LikeMatch)
def _like_default(element: LikeMatch, compiler: SQLCompiler, **kw: Any) -> str:
    expr = compiler.process(element.expr, **kw)
    if not element.case_sensitive:
        expr = f"translate({expr}, '{ASCII_UPPERCASE}', '{ASCII_LOWERCASE}')"
    return f"{expr} LIKE {compiler.process(element.like_pattern, **kw)} ESCAPE '{LIKE_ESCAPE}'"
