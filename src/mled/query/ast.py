"""The typed syntax tree of a search query: frozen, hashable dataclasses with no behaviour.

The parser produces it, the SQL compiler and the reference evaluator consume it, and
:func:`mled.query.render.to_text` turns it back into query text. Values in the tree are already
normalised and type-checked by the parser: time fields only ever hold :class:`Timestamp` or
:class:`RelativeTime`, ``status`` and ``id`` strings are lower case, a ``duration`` literal such
as ``2h`` is a :class:`Number` of seconds.

Example:
    >>> from mled.query.parser import parse_query
    >>> parse_query("metrics.acc > 0.9 order by created desc limit 5")
    ... # doctest: +NORMALIZE_WHITESPACE
    Query(where=Comparison(field=Metric(key='acc', agg='last'), op=<Op.GT: '>'>,
                           value=Number(value=0.9)),
          order_by=(OrderItem(field=Attribute(name='created'), descending=True),), limit=5)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeAlias

# --- fields ----------------------------------------------------------------------------------

MetricAgg: TypeAlias = Literal["last", "min", "max", "count"]
DatasetAttr: TypeAlias = Literal["name", "version", "digest", "role"]


@dataclass(frozen=True, slots=True)
class Attribute:
    """A column of the experiment itself; ``name`` is canonical (``group``, ``git.commit``...)."""

    name: str


@dataclass(frozen=True, slots=True)
class Param:
    """``params.<key>``: a typed param (compared as a number or as text, see the docs)."""

    key: str


@dataclass(frozen=True, slots=True)
class Metric:
    """``metrics.<key>[.last|.min|.max|.count]`` from the per-key metric summary."""

    key: str
    agg: MetricAgg = "last"


@dataclass(frozen=True, slots=True)
class Tag:
    """``tags.<key>``: a string."""

    key: str


@dataclass(frozen=True, slots=True)
class Dataset:
    """``dataset.name|version|digest|role`` of an input dataset of the experiment."""

    attr: DatasetAttr


Field: TypeAlias = Attribute | Param | Metric | Tag | Dataset

# --- literal values --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    """A finite number literal (``3``, ``-1e-3``); durations such as ``2h`` become seconds."""

    value: float


@dataclass(frozen=True, slots=True)
class String:
    """A quoted string literal, escapes already resolved."""

    value: str


@dataclass(frozen=True, slots=True)
class Boolean:
    """``true`` or ``false``."""

    value: bool


@dataclass(frozen=True, slots=True)
class Timestamp:
    """An absolute time in epoch seconds (UTC), from a date string or a number."""

    seconds: float


@dataclass(frozen=True, slots=True)
class RelativeTime:
    """``now``, ``now - 7d``: ``offset`` seconds from the moment the search runs."""

    offset: float = 0.0


Value: TypeAlias = Number | String | Boolean | Timestamp | RelativeTime

# --- conditions ------------------------------------------------------------------------------


class Op(StrEnum):
    """Comparison operators (``==`` parses as ``EQ``, ``<>`` as ``NE``)."""

    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


@dataclass(frozen=True, slots=True)
class Comparison:
    """``field op value``: false when the field is missing or has no comparable value."""

    field: Field
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class InList:
    """``field [not] in (v1, v2, ...)``; ``not in`` still requires a comparable value."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Like:
    """``field [not] like|ilike 'pattern'`` (``%`` any run, ``_`` one character)."""

    field: Field
    pattern: str
    case_sensitive: bool = True
    negated: bool = False


@dataclass(frozen=True, slots=True)
class IsNull:
    """``field is [not] null``: whether the field is absent (a param/metric/tag key not logged)."""

    field: Field
    negated: bool = False


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Predicate: TypeAlias = Comparison | InList | Like | IsNull
Expr: TypeAlias = Comparison | InList | Like | IsNull | And | Or | Not

# --- the whole query -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderItem:
    """One ``order by`` key; missing values sort last in both directions."""

    field: Field
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: optional filter, sort keys, and an optional total result limit."""

    where: Expr | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
