"""Bad queries: a QuerySyntaxError (or UnknownField) with a caret, never a raw lark/SQL error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mled.errors import InvalidInput, MledError, QuerySyntaxError, UnknownField
from mled.query.ast import Comparison, Number, Op, Param
from mled.query.parser import MAX_DEPTH, parse_order_by, parse_query

# (query, error class, column of the caret, text the message must contain)
BAD: list[tuple[str, type[QuerySyntaxError], int, str]] = [
    # unbalanced parentheses
    ("(metrics.a > 1", QuerySyntaxError, 15, "expected `)`"),
    ("metrics.a > 1)", QuerySyntaxError, 14, "unexpected ')'"),
    ("((metrics.a > 1) or (metrics.b < 2)", QuerySyntaxError, 36, "expected `)`"),
    # unknown operators
    ("metrics.a ~ 1", QuerySyntaxError, 11, "expected an operator"),
    ("metrics.a === 1", QuerySyntaxError, 13, "unexpected '='"),
    ("metrics.a => 1", QuerySyntaxError, 12, "unexpected '>'"),
    ("metrics.a between 1 and 2", QuerySyntaxError, 11, "unexpected 'between'"),
    ("params.a && params.b", QuerySyntaxError, 10, "unexpected character '&'"),
    # unknown fields, with suggestions
    ("metric.acc > 0.9", UnknownField, 1, "did you mean `metrics.acc`?"),
    ("param.lr = 1", UnknownField, 1, "did you mean `params.lr`?"),
    ("tag.team = 'a'", UnknownField, 1, "did you mean `tags.team`?"),
    ("stauts = 'finished'", UnknownField, 1, "did you mean `status`?"),
    ("metrics.a > 1 and paramz.lr = 1", UnknownField, 19, "did you mean `params.lr`?"),
    ("attributes.artifact_uri = 'x'", UnknownField, 1, "`artifact_uri` has no counterpart"),
    ("dataset.size = 1", UnknownField, 1, "datasets have name, version, digest and role"),
    ("dataset.rol = 'train'", UnknownField, 1, "did you mean `dataset.role`?"),
    ("metrics > 1", UnknownField, 1, "`metrics` needs a key"),
    ("git.remote = 'x'", UnknownField, 1, "unknown field `git.remote`"),
    # unterminated strings and keys
    ("name = 'abc", QuerySyntaxError, 8, "unterminated string"),
    ('name = "abc', QuerySyntaxError, 8, "unterminated string"),
    ("params.`a b = 1", QuerySyntaxError, 8, "unterminated `quoted key`"),
    # bad values
    ("created > 'yesterday'", QuerySyntaxError, 11, "bad date 'yesterday'"),
    ("created > '2026-13-01'", QuerySyntaxError, 11, "bad date '2026-13-01'"),
    ("created > '2026-02-30T10:00'", QuerySyntaxError, 11, "bad date"),
    ("created > now - 7", QuerySyntaxError, 17, "expected a duration like 7d"),
    ("created > now - 7y", QuerySyntaxError, 17, "expected a duration like 7d"),
    ("created > 7d", QuerySyntaxError, 11, "7d is a duration, not a time"),
    ("metrics.a > 1e999", QuerySyntaxError, 13, "out of range"),
    ("status = finished", QuerySyntaxError, 10, "unquoted text 'finished'"),
    ("params.x = null", QuerySyntaxError, 12, "`null` is not a value"),
    ("params.x in ()", QuerySyntaxError, 14, "expected a value"),
    # type errors
    ("metrics.acc > '0.9'", QuerySyntaxError, 15, "metrics.acc holds numbers, not text"),
    ("tags.epoch = 5", QuerySyntaxError, 14, "tags.epoch holds text; quote the value"),
    ("name = 5", QuerySyntaxError, 8, "name holds text"),
    ("params.flag < true", QuerySyntaxError, 15, "only be compared with = and !="),
    ("metrics.a like '1%'", QuerySyntaxError, 1, "like works on text"),
    ("name like 5", QuerySyntaxError, 11, "a like pattern is a quoted string"),
    ("metrics.a > now", QuerySyntaxError, 13, "metrics.a holds numbers"),
    ("params.x = now - 1d", QuerySyntaxError, 12, "params compare with numbers"),
    # order by / limit misuse
    ("order by", QuerySyntaxError, 9, "expected a field"),
    ("metrics.a > 1 order by", QuerySyntaxError, 23, "expected a field"),
    ("order by name sideways", QuerySyntaxError, 15, "unexpected 'sideways'"),
    ("order by name,", QuerySyntaxError, 15, "expected a field"),
    ("limit 5 order by name", QuerySyntaxError, 9, "expected end of query"),
    ("limit -1", QuerySyntaxError, 7, "expected a whole number"),
    ("limit 1.5", QuerySyntaxError, 7, "expected a whole number"),
    ("limit", QuerySyntaxError, 6, "unexpected end of query"),
    # incomplete or misplaced pieces
    ("metrics.a >", QuerySyntaxError, 12, "unexpected end of query"),
    ("and metrics.a > 1", QuerySyntaxError, 1, "unexpected 'and'"),
    ("metrics.a > 1 and", QuerySyntaxError, 18, "expected a field"),
    ("metrics.a > 1 metrics.b > 2", QuerySyntaxError, 15, "expected `and`, `or`, `order by`"),
    ("1 = metrics.a", QuerySyntaxError, 1, "expected a field"),
    ("metrics.a > metrics.b", QuerySyntaxError, 13, "unquoted text 'metrics.b'"),
    ("params.", QuerySyntaxError, 8, "expected a key (quote keys with spaces"),
    ("((metrics.a > 1)", QuerySyntaxError, 17, "expected `)`"),
    # SQL injection attempts
    ("params.x = 'a' or 1=1 --", QuerySyntaxError, 19, "expected a field"),
    ("params.x = 'a'; drop table experiments", QuerySyntaxError, 15, "unexpected character ';'"),
    ("params.x = 'a' -- comment", QuerySyntaxError, 16, "unexpected"),
    ("params.x = 'a'' or ''1''=''1'", QuerySyntaxError, 15, "unexpected \"' or '\""),
    ("params.x = 'a' union select * from users", QuerySyntaxError, 16, "unexpected 'union'"),
    ("name = 'x' /* comment */", QuerySyntaxError, 12, "unexpected '/'"),
]


@pytest.mark.parametrize(("text", "kind", "column", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_query(text: str, kind: type[QuerySyntaxError], column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    err = info.value
    assert type(err) is kind
    assert message in err.message
    assert (err.line, err.column) == (1, column)
    assert err.details["column"] == column
    caret_line = err.message.splitlines()[-1]
    assert caret_line.index("^") - 2 == column - 1, err.message
    assert err.to_problem()["status"] == 400


def test_caret_points_at_the_bad_token_on_later_lines() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("metrics.a > 1\nand params.b ~ 2")
    err = info.value
    assert (err.line, err.column) == (2, 14)
    assert err.message.endswith("  and params.b ~ 2\n               ^")


def test_unknown_field_lists_the_suggestion_as_expected() -> None:
    with pytest.raises(UnknownField) as info:
        parse_query("metric.acc > 0.9")
    assert info.value.expected == ["metrics.acc"]
    assert info.value.code == "unknown_field"
    assert "params.<key>" in info.value.hint


def test_expected_tokens_are_reported() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("metrics.a > 1 metrics.b")
    assert set(info.value.expected) >= {"and", "or", "order by", "limit"}


def test_unquoted_value_gets_a_hint() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("status = finished")
    assert "'finished'" in info.value.hint


def test_injection_in_a_quoted_key_parses_into_a_harmless_key() -> None:
    query = parse_query("params.`x'; drop table experiments; --` = 1")
    assert query.where == Comparison(Param("x'; drop table experiments; --"), Op.EQ, Number(1.0))


def test_too_deep_nesting_is_refused() -> None:
    deep = "(" * (MAX_DEPTH + 5) + "metrics.a > 1" + ")" * (MAX_DEPTH + 5)
    with pytest.raises(QuerySyntaxError, match="nested"):
        parse_query(deep)
    many_nots = "not " * (MAX_DEPTH + 5) + "metrics.a > 1"
    with pytest.raises(QuerySyntaxError, match="nested"):
        parse_query(many_nots)


def test_too_many_conditions_are_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="too large"):
        parse_query(" or ".join(f"params.p = {i}" for i in range(500)))


def test_too_long_query_is_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="longer than"):
        parse_query("name = '" + "x" * 200_000 + "'")


def test_non_text_query_is_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="text"):
        parse_query(42)  # type: ignore[arg-type]


def test_order_by_entries_are_checked() -> None:
    with pytest.raises(QuerySyntaxError):
        parse_order_by(["metrics.acc DESC; drop table x"])
    with pytest.raises(UnknownField):
        parse_order_by(["metric.acc"])


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["metrics.acc sideways"], {",", "asc", "desc"}),
        (["metrics.acc = 1"], {",", "asc", "desc", "end of query"}),
    ],
)
def test_order_by_entry_errors_expect_sort_words_only(
    entries: list[str], expected: set[str]
) -> None:
    # Lark's LALR tables share states with the filter: no operator (nor `limit`, which an
    # entry cannot hold) may be offered after a sort key.
    with pytest.raises(QuerySyntaxError) as info:
        parse_order_by(entries)
    assert set(info.value.expected) == expected
    assert "operator" not in info.value.message


def test_after_order_by_in_a_query_no_operator_is_expected() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("order by metrics.acc sideways")
    assert set(info.value.expected) == {",", "asc", "desc", "limit"}


def test_errors_are_invalid_input() -> None:
    assert issubclass(QuerySyntaxError, InvalidInput)
    assert issubclass(UnknownField, QuerySyntaxError)


_TOKENS = [
    "metrics.a",
    "params.`b c`",
    "tags.t",
    "status",
    "created",
    "name",
    "=",
    "!=",
    "<",
    ">=",
    "in",
    "not",
    "like",
    "ilike",
    "is",
    "null",
    "and",
    "or",
    "(",
    ")",
    ",",
    "'x'",
    '"y"',
    "1",
    "-2.5e3",
    "true",
    "now",
    "-",
    "7d",
    "order by",
    "desc",
    "limit",
    "3",
    "'2026-01-01'",
    "`",
    "'",
    ".",
    ";",
    "--",
    "*",
    "%",
    "\\",
    "\n",
    "é",
    "metric.acc",
]


def _syntax_error_or_none(text: str) -> QuerySyntaxError | None:
    """Parse ``text``; any exception other than QuerySyntaxError propagates and fails the test."""
    try:
        parse_query(text)
    except QuerySyntaxError as err:
        return err
    return None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=14))
def test_token_soup_never_escapes_as_another_exception(tokens: list[str]) -> None:
    err = _syntax_error_or_none(" ".join(tokens))
    if err is not None:
        assert err.line >= 1
        assert err.column >= 1
        assert isinstance(err, MledError)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_never_escapes_as_another_exception(text: str) -> None:
    _syntax_error_or_none(text)
