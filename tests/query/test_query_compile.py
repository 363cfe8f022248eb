"""The SQL compiler without a database: bound parameters only, dialect quirks, page tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from mled.errors import InvalidInput
from mled.query.compiler import MAX_PAGE_SIZE, CompiledSearch, compile_search
from mled.query.pagination import PageToken
from mled.query.parser import parse_query

DIALECTS: list[tuple[str, Dialect]] = [
    ("sqlite", sqlite.dialect()),
    ("postgresql", postgresql.dialect()),
]

# Every user-supplied literal below is distinctive, so finding it in the SQL text would mean it
# was inlined instead of bound.
QUERIES_AND_LITERALS: list[tuple[str, list[str]]] = [
    ("params.zqkey = 'zqvalue'", ["zqkey", "zqvalue"]),
    ("params.zqnum < 0.987654", ["zqnum", "0.987654"]),
    ("params.zqflag = true", ["zqflag"]),
    ("params.`zq key.dots` in ('zqa', 'zqb', 123456)", ["zq key.dots", "zqa", "zqb", "123456"]),
    ("params.zqx not in ('zqc', 0.5)", ["zqx", "zqc"]),
    ("metrics.zqacc.max >= 0.876543 order by metrics.zqloss.min desc", ["zqacc", "0.876543"]),
    ("metrics.zqcount.count > 2.5", ["zqcount", "2.5"]),
    (
        "tags.zqteam ilike 'ZQVision%' and tags.zqnote like '%zq_%'",
        ["zqteam", "ZQVision", "zqnote"],
    ),
    ("tags.zqt not like 'zqpat%'", ["zqt", "zqpat"]),
    ("name like 'zqname%' or name ilike 'ZQOTHER'", ["zqname", "ZQOTHER", "zqother"]),
    ("id like '0190abcdef%'", ["0190abcdef"]),
    ("status in ('zqstatus', 'finished')", ["zqstatus", "finished"]),
    ("owner = 'zqowner' and project != 'zqproject'", ["zqowner", "zqproject"]),
    ("group > 'zqgroup' and git.commit = 'zqcommit'", ["zqgroup", "zqcommit"]),
    ("created >= '2031-07-04' and ended < now - 3d", ["2031"]),
    ("duration > 98765", ["98765"]),
    ("params.zqs is null and not tags.zqm is not null", ["zqs", "zqm"]),
    (
        "params.`x'; drop table experiments; --` = 'zq' order by tags.zqsort",
        ["drop table", "zqsort"],
    ),
    ("order by params.zqorder desc, tags.zqtag, owner, project", ["zqorder", "zqtag"]),
    (
        "dataset.name ilike 'ZQdata%' and dataset.version in (7, 8) order by dataset.digest",
        ["ZQdata", "zqdata"],
    ),
    ("dataset.digest is null or dataset.name != 'zqname'", ["zqname"]),
    ("datasets.context = 'zqrole' order by dataset.role", ["zqrole"]),
]
# The only quoted text MLED itself writes into SQL.
CONSTANTS = ["ESCAPE '!'", "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'", "'abcdefghijklmnopqrstuvwxyz'"]


def compile_sql(text: str, dialect: Dialect, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    search = compile_search(parse_query(text), now=0.0, **kwargs)
    compiled = search.statement.compile(dialect=dialect)
    return str(compiled), dict(compiled.params)


@pytest.mark.parametrize(("name", "dialect"), DIALECTS, ids=[d[0] for d in DIALECTS])
@pytest.mark.parametrize(
    ("text", "literals"), QUERIES_AND_LITERALS, ids=[q[0] for q in QUERIES_AND_LITERALS]
)
def test_no_user_literal_is_inlined(
    name: str, dialect: Dialect, text: str, literals: list[str]
) -> None:
    sql, _ = compile_sql(text, dialect, project_ids=[7, 8], limit=25)
    for literal in literals:
        assert literal not in sql, f"{literal!r} inlined into {name} SQL:\n{sql}"
    for constant in CONSTANTS:
        sql = sql.replace(constant, "")
    assert "'" not in sql, f"a quoted literal in {name} SQL:\n{sql}"


def test_injection_text_only_reaches_a_bound_parameter() -> None:
    sql, params = compile_sql(
        "params.`x'; drop table experiments; --` = 1", sqlite.dialect(), limit=10
    )
    assert "drop" not in sql.lower()
    assert "x'; drop table experiments; --" in params.values()


def test_dialect_specific_like_and_collation() -> None:
    text = "name like 'Res%' and tags.t ilike 'VIS%' and params.p > 'm' order by name"
    lite, lite_params = compile_sql(text, sqlite.dialect())
    pg, pg_params = compile_sql(text, postgresql.dialect())
    assert "GLOB" in lite
    assert "COLLATE" not in lite
    assert "Res*" in lite_params.values()
    assert "vis%" in lite_params.values()  # ilike patterns are ASCII-lower-cased
    assert "GLOB" not in pg
    assert 'COLLATE "C"' in pg
    assert "translate(" in pg
    assert "Res%" in pg_params.values()


def test_like_pattern_escapes_survive_translation() -> None:
    _, lite = compile_sql(r"name like '50\%*_x[y]'", sqlite.dialect())
    _, pg = compile_sql(r"name like '50\%*_x[y]'", postgresql.dialect())
    assert "50%[*]?x[[]y]" in lite.values()
    assert "50!%*_x[y]" in pg.values()


def test_select_shape() -> None:
    search = compile_search(
        parse_query("metrics.a > 1 order by metrics.a desc, params.p"), limit=10, now=0.0
    )
    assert [c.name for c in search.statement.selected_columns] == [
        "id",
        "sort_0",
        "sort_1",
        "sort_2",
    ]
    assert [c.kind for c in search.columns] == ["num", "num", "text"]
    sql = str(search.statement.compile(dialect=sqlite.dialect()))
    assert "JOIN metrics AS f_0" in sql  # the filter is an inner join ...
    assert "f_0.last AS sort_0" in sql  # ... reused for sorting
    assert "LEFT OUTER JOIN params AS sort_1" in sql
    assert sql.count("NULLS LAST") == 3
    assert "experiments.id DESC" in sql


def test_project_restriction() -> None:
    sql, params = compile_sql("", sqlite.dialect(), project_ids=[3, 4])
    assert "experiments.project_id IN" in sql
    assert [3, 4] in params.values()
    sql, _ = compile_sql("", sqlite.dialect(), project_ids=None)
    assert "project_id" not in sql


def test_first_pages_reuse_the_statement_and_keep_their_own_now() -> None:
    text = "metrics.acc > 0.9 and params.opt = 'adam' order by metrics.acc desc"
    first = compile_search(parse_query(text), project_ids=[1, 2], limit=10, now=100.0)
    # Parsed again: an equal query, a new object.
    again = compile_search(parse_query(text), project_ids=(1, 2), limit=10, now=200.0)
    assert again.statement is first.statement
    assert (first.now, again.now) == (100.0, 200.0)
    token = again.paginate([(9, 0.99)] * 11)[1]
    assert token is not None
    assert PageToken.decode(token, fingerprint=again.fingerprint, kinds=["num"]).now == 200.0
    for other in (
        compile_search(parse_query(text), project_ids=[1], limit=10, now=0.0),
        compile_search(parse_query(text), project_ids=None, limit=10, now=0.0),
        compile_search(parse_query(text), project_ids=[1, 2], limit=11, now=0.0),
        compile_search(parse_query("metrics.acc > 0.8"), project_ids=[1, 2], limit=10, now=0.0),
        compile_search(parse_query(text), project_ids=[1, 2], limit=10, page_token=token),
    ):
        assert other.statement is not first.statement


def test_queries_with_now_are_compiled_at_their_time() -> None:
    query = parse_query("created > now - 1h")
    early = compile_search(query, limit=10, now=10_000.0).statement.compile()
    late = compile_search(query, limit=10, now=20_000.0).statement.compile()
    assert 10_000.0 - 3_600 in early.params.values()
    assert 20_000.0 - 3_600 in late.params.values()


def test_equal_but_differently_typed_literals_are_not_confused() -> None:
    # 1 == 1.0 == True in Python: queries share a compiled statement only when they print alike.
    texts = ["params.x = 1", "params.x = 1.0", "params.x = true", "params.x = '1'"]
    for a in texts:
        for b in texts:
            same = repr(parse_query(a)) == repr(parse_query(b))
            shared = (
                compile_search(parse_query(a), limit=5, now=0.0).statement
                is compile_search(parse_query(b), limit=5, now=0.0).statement
            )
            assert shared == same, (a, b)


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1, True, 2.5])
def test_bad_page_size(limit: Any) -> None:
    with pytest.raises(InvalidInput, match="page size"):
        compile_search(parse_query(""), limit=limit)


def test_dataset_fields_search_the_input_datasets() -> None:
    sql, _ = compile_sql("dataset.name = 'c' order by dataset.version desc", postgresql.dialect())
    assert "experiments.id IN (SELECT dataset_inputs.experiment_id" in sql
    assert "JOIN datasets ON datasets.id = dataset_versions.dataset_id" in sql
    assert "min(dataset_versions.version)" in sql
    sql, _ = compile_sql("order by dataset.name", postgresql.dialect())
    assert 'min(datasets.name COLLATE "C")' in sql


# --- pagination ------------------------------------------------------------------------------


def _search(text: str, **kwargs: Any) -> CompiledSearch:
    return compile_search(parse_query(text), **kwargs)


def test_paginate_and_next_token() -> None:
    search = _search("order by metrics.a desc, name", limit=2, now=123.0)
    ids, token = search.paginate([(9, 0.5, "b"), (4, 0.5, "a"), (1, None, "c")])
    assert ids == [9, 4]
    assert token is not None
    decoded = PageToken.decode(token, fingerprint=search.fingerprint, kinds=["num", "text"])
    assert decoded == PageToken(search.fingerprint, (0.5, "a"), 4, 2, 123.0)
    last = _search("order by metrics.a desc, name", limit=2, page_token=token)
    assert last.now == 123.0  # "now" is frozen by the first page
    assert last.seen == 2
    assert last.paginate([(1, None, "c")]) == ([1], None)


def test_query_limit_caps_the_total_over_pages() -> None:
    first = _search("order by name limit 3", limit=2, now=0.0)
    assert first.page_size == 2
    ids, token = first.paginate([(5, "a"), (4, "b"), (3, "c")])
    assert ids == [5, 4]
    assert token is not None
    second = _search("order by name limit 3", limit=2, page_token=token)
    assert second.page_size == 1
    assert second.paginate([(3, "c"), (2, "d")]) == ([3], None)


def test_limit_zero_returns_nothing() -> None:
    search = _search("limit 0", limit=10)
    assert search.page_size == 0
    assert search.paginate([]) == ([], None)


def test_token_of_another_query_is_refused() -> None:
    search = _search("order by name", limit=1, now=0.0)
    _, token = search.paginate([(2, "a"), (1, "b")])
    assert token is not None
    with pytest.raises(InvalidInput, match="different query"):
        _search("order by name desc", limit=1, page_token=token)
    with pytest.raises(InvalidInput, match="different query"):
        _search("metrics.x > 1 order by name", limit=1, page_token=token)
    # the same filter and order with another limit or page size is fine
    _search("order by name limit 50", limit=7, page_token=token)


def _forge(body: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(v=2),
        lambda b: b.update(k=[1, 2]),
        lambda b: b.update(k=["text-for-a-number"]),
        lambda b: b.update(k=[True]),
        lambda b: b.update(k=[2**70]),
        lambda b: b.update(i="7"),
        lambda b: b.update(i=2**64),
        lambda b: b.update(n=-1),
        lambda b: b.update(t="now"),
        lambda b: b.update(t=None),
        lambda b: b.pop("k"),
    ],
)
def test_tampered_tokens_are_refused(mutate: Any) -> None:
    search = _search("order by metrics.a", limit=1, now=0.0)
    body = {"v": 1, "f": search.fingerprint, "k": [0.5], "i": 3, "n": 1, "t": 0.0}
    _search("order by metrics.a", limit=1, page_token=_forge(body))  # the untampered one works
    mutate(body)
    with pytest.raises(InvalidInput, match="invalid page token"):
        _search("order by metrics.a", limit=1, page_token=_forge(body))


@pytest.mark.parametrize(
    "token", ["garbage", "!!!!", "e30", base64.b64encode(b"\xff\xfe").decode(), "x" * 70_000]
)
def test_garbage_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidInput, match="invalid page token"):
        _search("", limit=1, page_token=token)


def test_token_with_text_and_infinite_values_round_trips() -> None:
    search = _search("order by tags.t desc, metrics.m", limit=1, now=5.0)
    _, token = search.paginate([(8, "é'\"; --", float("-inf")), (7, "a", 1.0)])
    assert token is not None
    decoded = PageToken.decode(token, fingerprint=search.fingerprint, kinds=["text", "num"])
    assert decoded.values == ("é'\"; --", float("-inf"))
    sql = str(
        _search("order by tags.t desc, metrics.m", limit=1, page_token=token).statement.compile(
            dialect=postgresql.dialect()
        )
    )
    assert "; --" not in sql
