"""Turn the lark parse tree into the typed AST: resolve fields, decode and type-check literals.

Every problem found here is raised as :class:`~mled.errors.QuerySyntaxError` (or
:class:`~mled.errors.UnknownField`) pointing at the offending token. The rules on which literal
goes with which field are described in ``docs/query-language.md`` ("Types").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from lark import Token, Transformer

from mled.errors import QuerySyntaxError, UnknownField
from mled.query.ast import (
    And,
    Attribute,
    Boolean,
    Comparison,
    Expr,
    Field,
    InList,
    IsNull,
    Like,
    Not,
    Number,
    Op,
    Or,
    OrderItem,
    Query,
    RelativeTime,
    String,
    Timestamp,
    Value,
)
from mled.query.fields import (
    LOWERCASE_ATTRIBUTES,
    FieldLookupError,
    Kind,
    PathPart,
    field_text,
    kind_of,
    resolve_field,
    valid_fields_hint,
)
from mled.query.literals import (
    LiteralError,
    parse_datetime,
    parse_duration,
    parse_number,
    time_from_number,
    unescape_string,
)

MAX_PREDICATES = 200
MAX_VALUES = 5_000
MAX_ORDER_KEYS = 8
MAX_LIMIT = 1_000_000_000

_OPS = {"=": Op.EQ, "==": Op.EQ, "!=": Op.NE, "<>": Op.NE, "<": Op.LT, "<=": Op.LE}
_OPS |= {">": Op.GT, ">=": Op.GE}


@dataclass(frozen=True, slots=True)
class _Loc:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class _LocField:
    field: Field
    loc: _Loc


@dataclass(frozen=True, slots=True)
class _LocValue:
    kind: str  # number | string | bool | null | duration | now
    value: Any
    loc: _Loc
    text: str


def _loc(token: Token) -> _Loc:
    return _Loc(token.line or 1, token.column or 1)


def _has(children: list[Any], kind: str) -> bool:
    return any(isinstance(c, Token) and c.type == kind for c in children)


class AstBuilder(Transformer[Token, Any]):
    """Lark transformer for one query text (keeps it for caret messages)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.predicates = 0
        self.values = 0

    # --- errors ------------------------------------------------------------------------------

    def fail(
        self, message: str, loc: _Loc, *, expected: list[str] | None = None, hint: str | None = None
    ) -> NoReturn:
        raise QuerySyntaxError(
            f"{message} (line {loc.line}, column {loc.column})",
            query=self.text,
            line=loc.line,
            column=loc.column,
            expected=expected,
            hint=hint,
        )

    def _count(self, values: int, loc: _Loc) -> None:
        self.predicates += 1
        self.values += values
        if self.predicates > MAX_PREDICATES or self.values > MAX_VALUES:
            self.fail(
                f"query too large: at most {MAX_PREDICATES} conditions and {MAX_VALUES} values",
                loc,
                hint="Split the search, or group values with `in (...)`.",
            )

    # --- fields ------------------------------------------------------------------------------

    def head(self, children: list[Token]) -> tuple[PathPart, Token]:
        return self.part(children)

    def part(self, children: list[Token]) -> tuple[PathPart, Token]:
        (tok,) = children
        if tok.type == "BACKTICK_KEY":
            return PathPart(str(tok)[1:-1], quoted=True), tok
        if tok.type == "STRING":
            return PathPart(unescape_string(str(tok)), quoted=True), tok
        return PathPart(str(tok)), tok

    def field(self, children: list[tuple[PathPart, Token]]) -> _LocField:
        loc = _loc(children[0][1])
        try:
            found = resolve_field([p for p, _ in children])
        except FieldLookupError as err:
            message = err.message
            if err.suggestion and "<" not in err.suggestion:
                message += f"; did you mean `{err.suggestion}`?"
            elif err.suggestion:
                message += f"; write `{err.suggestion}`"
            raise UnknownField(
                f"{message} (line {loc.line}, column {loc.column})",
                query=self.text,
                line=loc.line,
                column=loc.column,
                expected=[err.suggestion] if err.suggestion else [],
                hint=valid_fields_hint(),
            ) from None
        return _LocField(found, loc)

    # --- values ------------------------------------------------------------------------------

    def _number(self, tok: Token, sign: float, loc: _Loc, text: str) -> _LocValue:
        try:
            return _LocValue("number", sign * parse_number(str(tok)), loc, text)
        except LiteralError as err:
            self.fail(str(err), loc)

    def number(self, children: list[Token]) -> _LocValue:
        (tok,) = children
        return self._number(tok, 1.0, _loc(tok), str(tok))

    def negative_number(self, children: list[Token]) -> _LocValue:
        minus, tok = children
        return self._number(tok, -1.0, _loc(minus), f"-{tok}")

    def number_plus(self, children: list[Token]) -> _LocValue:
        plus, tok = children
        return self._number(tok, 1.0, _loc(plus), str(tok))

    def string(self, children: list[Token]) -> _LocValue:
        (tok,) = children
        return _LocValue("string", unescape_string(str(tok)), _loc(tok), str(tok))

    def true(self, children: list[Token]) -> _LocValue:
        return _LocValue("bool", True, _loc(children[0]), "true")

    def false(self, children: list[Token]) -> _LocValue:
        return _LocValue("bool", False, _loc(children[0]), "false")

    def null_value(self, children: list[Token]) -> _LocValue:
        return _LocValue("null", None, _loc(children[0]), "null")

    def duration(self, children: list[Token]) -> _LocValue:
        (tok,) = children
        return _LocValue("duration", parse_duration(str(tok)), _loc(tok), str(tok))

    def now(self, children: list[Token | None]) -> _LocValue:
        now_tok, sign, amount = children
        assert now_tok is not None
        offset = 0.0
        if sign is not None and amount is not None:
            offset = parse_duration(str(amount)) * (-1.0 if sign.type == "MINUS" else 1.0)
        return _LocValue("now", offset, _loc(now_tok), str(now_tok))

    # --- type checks -------------------------------------------------------------------------

    def typed(self, f: _LocField, v: _LocValue, op: Op | None) -> Value:
        """The AST value of literal ``v`` compared with ``f``, or a QuerySyntaxError."""
        name = field_text(f.field)
        kind = kind_of(f.field)
        if v.kind == "null":
            self.fail(
                "`null` is not a value",
                v.loc,
                hint=f"Test for a missing value with `{name} is null` or `{name} is not null`.",
            )
        if kind is Kind.TIME:
            return self._time(name, v)
        if kind is Kind.NUMBER:
            if v.kind == "number":
                return Number(v.value)
            if v.kind == "duration" and f.field == Attribute("duration"):
                return Number(v.value)
            if v.kind == "string":
                self.fail(
                    f"{name} holds numbers, not text",
                    v.loc,
                    expected=["a number"],
                    hint=f"Write the number without quotes: {name} {(op or Op.EQ).value} 0.5",
                )
            self.fail(
                f"{name} holds numbers; {v.text} is not a number", v.loc, expected=["a number"]
            )
        if kind is Kind.TEXT:
            if v.kind == "string":
                text = v.value
                if isinstance(f.field, Attribute) and f.field.name in LOWERCASE_ATTRIBUTES:
                    text = text.lower()
                return String(text)
            self.fail(
                f"{name} holds text; quote the value",
                v.loc,
                expected=["a quoted string"],
                hint=f"Write {name} = '{v.text}'",
            )
        # Kind.PARAM
        if v.kind == "number":
            return Number(v.value)
        if v.kind == "string":
            return String(v.value)
        if v.kind == "bool":
            if op not in (None, Op.EQ, Op.NE):
                self.fail("true and false can only be compared with = and !=", v.loc)
            return Boolean(bool(v.value))
        self.fail(f"params compare with numbers, quoted strings or true/false, not {v.text}", v.loc)

    def _time(self, name: str, v: _LocValue) -> Value:
        if v.kind == "string":
            try:
                return Timestamp(parse_datetime(v.value))
            except LiteralError as err:
                self.fail(str(err), v.loc, expected=["a date like '2026-01-31'"])
        if v.kind == "number":
            return Timestamp(time_from_number(v.value))
        if v.kind == "now":
            return RelativeTime(v.value)
        if v.kind == "duration":
            self.fail(
                f"{v.text} is a duration, not a time",
                v.loc,
                hint=f"Write a time relative to now: {name} > now - {v.text}",
            )
        self.fail(
            f"{name} is a time; compare it with a date, epoch seconds or now - 7d",
            v.loc,
            expected=["a date like '2026-01-31'", "now"],
        )

    # --- predicates --------------------------------------------------------------------------

    def comp_op(self, children: list[Token]) -> Op:
        return _OPS[str(children[0])]

    def comparison(self, children: list[Any]) -> Comparison:
        f, op, v = children
        self._count(1, f.loc)
        return Comparison(f.field, op, self.typed(f, v, op))

    def in_list(self, children: list[Any]) -> InList:
        f = children[0]
        values = [c for c in children if isinstance(c, _LocValue)]
        self._count(len(values), f.loc)
        typed = tuple(self.typed(f, v, None) for v in values)
        return InList(f.field, typed, negated=_has(children, "NOT"))

    def _like(self, children: list[Any], case_sensitive: bool) -> Like:
        f, v = children[0], children[-1]
        self._count(1, f.loc)
        name = field_text(f.field)
        kind = kind_of(f.field)
        if kind not in (Kind.TEXT, Kind.PARAM):
            self.fail(f"like works on text; {name} holds {kind.value}s", f.loc)
        if v.kind != "string":
            self.fail("a like pattern is a quoted string", v.loc, expected=["a quoted string"])
        pattern = v.value
        if isinstance(f.field, Attribute) and f.field.name in LOWERCASE_ATTRIBUTES:
            pattern = pattern.lower()
        return Like(f.field, pattern, case_sensitive=case_sensitive, negated=_has(children, "NOT"))

    def like(self, children: list[Any]) -> Like:
        return self._like(children, True)

    def ilike(self, children: list[Any]) -> Like:
        return self._like(children, False)

    def is_null(self, children: list[Any]) -> IsNull:
        f = children[0]
        self._count(0, f.loc)
        return IsNull(f.field, negated=_has(children, "NOT"))

    # --- logic -------------------------------------------------------------------------------

    def or_expr(self, children: list[Any]) -> Or:
        items: list[Expr] = []
        for c in children:
            if isinstance(c, Token):
                continue
            items.extend(c.items if isinstance(c, Or) else [c])
        return Or(tuple(items))

    def and_expr(self, children: list[Any]) -> And:
        items: list[Expr] = []
        for c in children:
            if isinstance(c, Token):
                continue
            items.extend(c.items if isinstance(c, And) else [c])
        return And(tuple(items))

    def negation(self, children: list[Any]) -> Not:
        return Not(children[1])

    def group(self, children: list[Any]) -> Expr:
        return children[1]

    # --- order by / limit --------------------------------------------------------------------

    def order_item(self, children: list[Any]) -> OrderItem:
        f, direction = children
        return OrderItem(f.field, descending=direction is not None and direction.type == "DESC")

    def order_list(self, children: list[OrderItem]) -> tuple[OrderItem, ...]:
        if len(children) > MAX_ORDER_KEYS:
            self.fail(f"at most {MAX_ORDER_KEYS} order by keys", _Loc(1, 1))
        return tuple(children)

    def order_clause(self, children: list[Any]) -> tuple[OrderItem, ...]:
        return children[1]

    def limit_clause(self, children: list[Token]) -> int:
        value = int(str(children[1]))
        if value > MAX_LIMIT:
            self.fail(f"limit must be at most {MAX_LIMIT}", _loc(children[1]))
        return value

    def query(self, children: list[Any]) -> Query:
        where, order_by, limit = children
        return Query(where=where, order_by=order_by or (), limit=limit)
