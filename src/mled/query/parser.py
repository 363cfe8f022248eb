"""Parse query text into the typed AST; every failure is a :class:`~mled.errors.QuerySyntaxError`.

The grammar (``grammar.lark``) is LALR(1) with a contextual lexer, built once per process.

Example:
    >>> q = parse_query("params.lr < 1e-3 and tags.team in ('nlp', 'vision') order by created desc")
    >>> q.where.items[0]
    Comparison(field=Param(key='lr'), op=<Op.LT: '<'>, value=Number(value=0.001))
    >>> parse_query("").where is None
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Tree
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from mled.errors import MledError, QuerySyntaxError
from mled.query.ast import Expr, OrderItem, Query
from mled.query.builder import AstBuilder

MAX_QUERY_LENGTH = 100_000
MAX_DEPTH = 64

_DESCRIBE = {
    "NAME": "a field",
    "BACKTICK_KEY": "a field",
    "KEYPART": "a key (quote keys with spaces or dots in backticks)",
    "STRING": "a quoted string",
    "NUMBER": "a number",
    "INT": "a whole number",
    "DURATION": "a duration like 7d",
    "EQ": "=",
    "NE": "!=",
    "LT": "<",
    "LE": "<=",
    "GT": ">",
    "GE": ">=",
    "LPAR": "(",
    "RPAR": ")",
    "COMMA": ",",
    "DOT": ".",
    "MINUS": "-",
    "PLUS": "+",
    "ORDER_BY": "order by",
    "$END": "end of query",
    "<END-OF-FILE>": "end of query",
}
_ORDER = [
    "a field",
    "a key",
    "a number",
    "a quoted string",
    "a duration like 7d",
    "not",
    "(",
    ")",
    ",",
    "and",
    "or",
    "order by",
    "asc",
    "desc",
    "limit",
    "a whole number",
    "end of query",
]


@cache
def _lark() -> Lark:
    grammar = resources.files("mled.query").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        start=["query", "order_list"],
        maybe_placeholders=True,
        propagate_positions=False,
    )


_OPERATOR_TERMINALS = frozenset({"EQ", "NE", "LT", "LE", "GT", "GE", "IN", "LIKE", "ILIKE", "IS"})
_VALUE_TERMINALS = frozenset({"NUMBER", "STRING", "TRUE", "FALSE", "NOW", "MINUS", "PLUS"})
_VALUE_TERMINALS |= {"DURATION", "NULL"}
_ORDER_TERMINALS = frozenset({"ASC", "DESC", "COMMA"})
OPERATORS_TEXT = "an operator (= != < <= > >= in, not in, like, ilike, is null)"
VALUE_TEXT = "a value (a number, a 'quoted string', true, false, now - 7d)"


def _describe(
    terminals: Iterable[str], *, in_order_by: bool = False, order_list: bool = False
) -> list[str]:
    """Human-readable expected tokens; LALR state merging adds noise that is removed here.

    ``in_order_by``: the error is after ``order by``, where only sort keys, ``asc``/``desc``,
    commas and ``limit`` may follow; ``order_list``: in an ``order_by`` entry (no ``limit``).
    """
    names = set(terminals) - {"DOT"}
    if not in_order_by:
        names -= _ORDER_TERMINALS
    else:
        names -= _OPERATOR_TERMINALS | {"NOT"}
    if order_list:
        names -= {"LIMIT"}
    out: list[str] = []
    if "EQ" in names:
        names -= _OPERATOR_TERMINALS | {"NOT"}
        if not in_order_by:
            names -= {"LIMIT", "ORDER_BY", "$END", "RPAR"}
        out.append(OPERATORS_TEXT)
    if "KEYPART" in names:
        names -= {"BACKTICK_KEY", "STRING"}
    if "NAME" in names:
        names -= {"BACKTICK_KEY"}
    if "STRING" in names and "NUMBER" in names:
        names -= _VALUE_TERMINALS
        out.append(VALUE_TEXT)
    described = {_DESCRIBE.get(t, t.lower()) for t in names}
    ranked = [n for n in _ORDER if n in described]
    return out + ranked + sorted(described - set(ranked))


def _open_parens(text: str, pos: int | None) -> int:
    """Parentheses opened and not closed before ``pos``, outside quotes."""
    depth, quote, i = 0, "", 0
    head = text[: pos if pos is not None else len(text)]
    while i < len(head):
        ch = head[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 1  # skip the escaped character
            elif ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        i += 1
    return depth


def _in_order_by(text: str, pos: int | None) -> bool:
    head = text[: pos if pos is not None else len(text)].lower()
    return re.search(r"\border\s+by\b", head) is not None


def _syntax_error(text: str, err: UnexpectedInput, *, order_list: bool = False) -> QuerySyntaxError:
    """``err`` as a QuerySyntaxError; ``order_list``: ``text`` is an ``order_by`` entry,
    all of it sort keys."""
    line, column = err.line if err.line > 0 else 1, err.column if err.column > 0 else 1
    expected: list[str] = []
    hint: str | None = None
    in_order = order_list or _in_order_by(text, err.pos_in_stream)
    closed = _open_parens(text, err.pos_in_stream) == 0
    if isinstance(err, UnexpectedCharacters):
        expected = _describe(err.allowed or (), in_order_by=in_order, order_list=order_list)
        char = err.char
        if char in "'\"":
            message, expected = "unterminated string: the closing quote is missing", []
        elif char == "`":
            message, expected = "unterminated `quoted key`: the closing backtick is missing", []
        elif (char.isalpha() or char == "_") and VALUE_TEXT in expected:
            message, hint = _unquoted(_word_at(text, err.pos_in_stream))
        elif char.isalnum() or char == "_":
            message = f"unexpected {_word_at(text, err.pos_in_stream)!r}"
        else:
            message = f"unexpected character {char!r}"
    elif isinstance(err, UnexpectedToken):
        expected = _describe(err.expected, in_order_by=in_order, order_list=order_list)
        tok = err.token
        if tok.type == "$END":
            message = "unexpected end of query"
            line, column = _end_position(text)
        elif tok.type in ("NAME", "KEYPART") and VALUE_TEXT in expected:
            message, hint = _unquoted(_word_at(text, tok.start_pos))
        else:
            message = f"unexpected {str(tok)!r}"
    elif isinstance(err, UnexpectedEOF):
        expected = _describe(err.expected, in_order_by=in_order, order_list=order_list)
        message = "unexpected end of query"
        line, column = _end_position(text)
    else:  # pragma: no cover - lark has no other UnexpectedInput subclasses
        message = "invalid query"
    if closed and ")" in expected:
        expected.remove(")")
    if expected:
        message += "; expected " + _join(expected)
    return QuerySyntaxError(
        f"{message} (line {line}, column {column})",
        query=text,
        line=line,
        column=column,
        expected=expected,
        hint=hint,
    )


def _unquoted(word: str) -> tuple[str, str]:
    return (
        f"unquoted text {word!r}",
        f"Quote text values: '{word}'. A field can only be on the left of an operator.",
    )


def _join(items: Sequence[str]) -> str:
    quoted = [i if i.startswith(("a ", "an ", "end")) else f"`{i}`" for i in items]
    if len(quoted) <= 2:
        return " or ".join(quoted)
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _word_at(text: str, pos: int | None) -> str:
    if pos is None:
        return ""
    end = pos
    while end < len(text) and (text[end].isalnum() or text[end] in "_.-"):
        end += 1
    return text[pos:end]


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _check_depth(text: str, tree: Tree[Any]) -> None:
    stack: list[tuple[Tree[Any], int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"query nested more than {MAX_DEPTH} levels deep",
                query=text,
                hint="Remove redundant parentheses or `not`s.",
            )
        stack.extend((c, depth + 1) for c in node.children if isinstance(c, Tree))


def _parse(text: str, start: str) -> object:
    if not isinstance(text, str):
        raise QuerySyntaxError(f"a query is text, not {type(text).__name__}")
    if len(text) > MAX_QUERY_LENGTH:
        raise QuerySyntaxError(f"query longer than {MAX_QUERY_LENGTH} characters")
    try:
        tree = _lark().parse(text, start=start)
        _check_depth(text, tree)
        return AstBuilder(text).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(text, err, order_list=start == "order_list") from None
    except VisitError as err:
        if isinstance(err.orig_exc, MledError):
            raise err.orig_exc from None
        raise QuerySyntaxError(f"invalid query: {err.orig_exc}", query=text) from None
    except LarkError as err:  # pragma: no cover - defensive: never let lark errors escape
        raise QuerySyntaxError(f"invalid query: {err}", query=text) from None


def parse_query(text: str) -> Query:
    """Parse a whole query: an optional filter, then optional ``order by`` and ``limit``.

    Raises :class:`~mled.errors.QuerySyntaxError` (with a caret line) or
    :class:`~mled.errors.UnknownField` (with the nearest valid field).

    Example:
        >>> parse_query("order by metrics.loss limit 3").limit
        3
    """
    result = _parse(text, "query")
    assert isinstance(result, Query)
    return result


def parse_filter(text: str) -> Expr | None:
    """Parse a query that may only hold a filter (no ``order by``/``limit``).

    Example:
        >>> parse_filter("status = 'FINISHED'")
        Comparison(field=Attribute(name='status'), op=<Op.EQ: '='>, value=String(value='finished'))
    """
    query = parse_query(text)
    if query.order_by or query.limit is not None:
        raise QuerySyntaxError(
            "this filter cannot hold `order by` or `limit`",
            query=text,
            hint="Pass the sort order and the page size as their own arguments.",
        )
    return query.where


def parse_order_by(items: Sequence[str]) -> tuple[OrderItem, ...]:
    """Parse MLflow-style ``order_by`` entries such as ``["metrics.acc DESC", "start_time"]``.

    Example:
        >>> parse_order_by(["metrics.acc DESC"])
        (OrderItem(field=Metric(key='acc', agg='last'), descending=True),)
    """
    out: list[OrderItem] = []
    for item in items:
        parsed = _parse(item, "order_list")
        assert isinstance(parsed, tuple)
        out.extend(parsed)
    if len(out) > 8:
        raise QuerySyntaxError("at most 8 order by keys")
    return tuple(out)
