"""Write an AST back as canonical query text: ``parse_query(to_text(q)) == q``.

Example:
    >>> from mled.query.parser import parse_query
    >>> to_text(parse_query("METRICS.acc>0.9 AND (tags.t = 'a' OR NOT params.x IS NULL) LIMIT 3"))
    "metrics.acc > 0.9 and (tags.t = 'a' or not params.x is null) limit 3"
"""

from __future__ import annotations

from mled.query.ast import (
    And,
    Boolean,
    Comparison,
    Expr,
    InList,
    IsNull,
    Like,
    Not,
    Number,
    Or,
    OrderItem,
    Query,
    String,
    Timestamp,
    Value,
)
from mled.query.fields import field_text
from mled.query.literals import format_duration, quote_string


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def value_text(value: Value) -> str:
    """Query text of one literal.

    Example:
        >>> from mled.query.ast import RelativeTime
        >>> value_text(RelativeTime(-604800.0)), value_text(String("it's"))
        ('now - 1w', "'it\\\\'s'")
    """
    if isinstance(value, Number):
        return _number(value.value)
    if isinstance(value, String):
        return quote_string(value.value)
    if isinstance(value, Boolean):
        return "true" if value.value else "false"
    if isinstance(value, Timestamp):
        return _number(value.seconds)
    if value.offset == 0:
        return "now"
    sign = "-" if value.offset < 0 else "+"
    return f"now {sign} {format_duration(abs(value.offset))}"


def expr_text(expr: Expr) -> str:
    """Query text of a filter expression, with only the parentheses precedence needs."""
    if isinstance(expr, Or):
        return " or ".join(expr_text(e) for e in expr.items)
    if isinstance(expr, And):
        return " and ".join(
            f"({expr_text(e)})" if isinstance(e, Or | And) else expr_text(e) for e in expr.items
        )
    if isinstance(expr, Not):
        inner = expr_text(expr.item)
        return f"not ({inner})" if isinstance(expr.item, Or | And) else f"not {inner}"
    field = field_text(expr.field)
    if isinstance(expr, Comparison):
        return f"{field} {expr.op.value} {value_text(expr.value)}"
    if isinstance(expr, InList):
        values = ", ".join(value_text(v) for v in expr.values)
        return f"{field} {'not in' if expr.negated else 'in'} ({values})"
    if isinstance(expr, Like):
        op = "like" if expr.case_sensitive else "ilike"
        return f"{field} {'not ' if expr.negated else ''}{op} {quote_string(expr.pattern)}"
    assert isinstance(expr, IsNull)
    return f"{field} is {'not ' if expr.negated else ''}null"


def order_text(items: tuple[OrderItem, ...]) -> str:
    """``order by`` clause text (empty when there are no keys)."""
    if not items:
        return ""
    keys = ", ".join(f"{field_text(i.field)} {'desc' if i.descending else 'asc'}" for i in items)
    return f"order by {keys}"


def to_text(query: Query) -> str:
    """Canonical text of a whole query."""
    parts = [expr_text(query.where)] if query.where is not None else []
    if query.order_by:
        parts.append(order_text(query.order_by))
    if query.limit is not None:
        parts.append(f"limit {query.limit}")
    return " ".join(parts)
