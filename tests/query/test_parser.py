"""Parser: query text -> typed AST, table-driven, plus the canonical text round trip."""

from __future__ import annotations

import pytest

from mled.query.ast import (
    And,
    Attribute,
    Boolean,
    Comparison,
    Dataset,
    Expr,
    Field,
    InList,
    IsNull,
    Like,
    Metric,
    Not,
    Number,
    Op,
    Or,
    OrderItem,
    Param,
    Query,
    RelativeTime,
    String,
    Tag,
    Timestamp,
    Value,
)
from mled.query.parser import parse_filter, parse_order_by, parse_query
from mled.query.render import to_text

JAN_1 = 1767225600.0  # 2026-01-01T00:00:00Z


def cmp(field: Field, op: str, value: Value) -> Comparison:
    return Comparison(field, Op(op), value)


def where(expr: Expr) -> Query:
    return Query(where=expr)


P, M, T, A = Param, Metric, Tag, Attribute
N, S = Number, String

CASES: list[tuple[str, Query]] = [
    # --- every comparison operator ---------------------------------------------------------
    ("metrics.acc > 0.9", where(cmp(M("acc"), ">", N(0.9)))),
    ("metrics.acc >= 0.9", where(cmp(M("acc"), ">=", N(0.9)))),
    ("metrics.acc < 0.9", where(cmp(M("acc"), "<", N(0.9)))),
    ("metrics.acc <= 0.9", where(cmp(M("acc"), "<=", N(0.9)))),
    ("params.opt = 'adam'", where(cmp(P("opt"), "=", S("adam")))),
    ("params.opt == 'adam'", where(cmp(P("opt"), "=", S("adam")))),
    ("params.opt != 'adam'", where(cmp(P("opt"), "!=", S("adam")))),
    ("params.opt <> 'adam'", where(cmp(P("opt"), "!=", S("adam")))),
    ("metrics.acc>0.9", where(cmp(M("acc"), ">", N(0.9)))),
    # --- numbers ----------------------------------------------------------------------------
    ("params.lr <= 1e-3", where(cmp(P("lr"), "<=", N(0.001)))),
    ("params.lr < -2.5E+2", where(cmp(P("lr"), "<", N(-250.0)))),
    ("params.n = .5", where(cmp(P("n"), "=", N(0.5)))),
    ("params.n = +7", where(cmp(P("n"), "=", N(7.0)))),
    ("params.n = - 7", where(cmp(P("n"), "=", N(-7.0)))),
    # --- strings and escapes ----------------------------------------------------------------
    ('tags.team = "vision"', where(cmp(T("team"), "=", S("vision")))),
    (r"tags.who = 'it\'s'", where(cmp(T("who"), "=", S("it's")))),
    (r'tags.q = "say \"hi\""', where(cmp(T("q"), "=", S('say "hi"')))),
    (r"tags.path = 'a\\b'", where(cmp(T("path"), "=", S("a\\b")))),
    ("tags.empty = ''", where(cmp(T("empty"), "=", S("")))),
    ("tags.u = 'Émile ✓'", where(cmp(T("u"), "=", S("Émile ✓")))),
    # --- booleans ---------------------------------------------------------------------------
    ("params.flag = true", where(cmp(P("flag"), "=", Boolean(True)))),
    ("params.flag != FALSE", where(cmp(P("flag"), "!=", Boolean(False)))),
    # --- in / not in ------------------------------------------------------------------------
    (
        'tags.team in ("vision", "nlp")',
        where(InList(T("team"), (S("vision"), S("nlp")))),
    ),
    (
        "params.bs not in (32, 64,)",
        where(InList(P("bs"), (N(32.0), N(64.0)), negated=True)),
    ),
    ("params.x IN ('a', 1)", where(InList(P("x"), (S("a"), N(1.0))))),
    # --- like / ilike -----------------------------------------------------------------------
    ('name like "resnet%"', where(Like(A("name"), "resnet%"))),
    ("name ILIKE 'ResNet_5%'", where(Like(A("name"), "ResNet_5%", case_sensitive=False))),
    ("tags.t not like '%x%'", where(Like(T("t"), "%x%", negated=True))),
    (
        "params.opt not ilike 'A%'",
        where(Like(P("opt"), "A%", case_sensitive=False, negated=True)),
    ),
    ("id like '0190%'", where(Like(A("id"), "0190%"))),
    ("id LIKE '0190AB%'", where(Like(A("id"), "0190ab%"))),
    # --- is null ----------------------------------------------------------------------------
    ("params.seed is null", where(IsNull(P("seed")))),
    ("metrics.loss IS NOT NULL", where(IsNull(M("loss"), negated=True))),
    ("group is null", where(IsNull(A("group")))),
    # --- field kinds and quoting ------------------------------------------------------------
    ("metrics.loss.min < 0.2", where(cmp(M("loss", "min"), "<", N(0.2)))),
    ("metrics.loss.MAX < 0.2", where(cmp(M("loss", "max"), "<", N(0.2)))),
    ("metrics.loss.count >= 10", where(cmp(M("loss", "count"), ">=", N(10.0)))),
    ("metrics.loss.last < 1", where(cmp(M("loss"), "<", N(1.0)))),
    ("metrics.`loss.min` < 1", where(cmp(M("loss.min"), "<", N(1.0)))),
    ("metrics.count > 1", where(cmp(M("count"), ">", N(1.0)))),
    ("metrics.val/loss < 1", where(cmp(M("val/loss"), "<", N(1.0)))),
    ("params.`a.b` = 1", where(cmp(P("a.b"), "=", N(1.0)))),
    ("params.`model type` = 'cnn'", where(cmp(P("model type"), "=", S("cnn")))),
    ("params.\"model-type\" = 'cnn'", where(cmp(P("model-type"), "=", S("cnn")))),
    ("params.optimizer.lr < 0.1", where(cmp(P("optimizer.lr"), "<", N(0.1)))),
    ("params.and = 1", where(cmp(P("and"), "=", N(1.0)))),
    ("params.1st-try:x = 1", where(cmp(P("1st-try:x"), "=", N(1.0)))),
    ("tags.`mlflow.user` = 'ann'", where(cmp(T("mlflow.user"), "=", S("ann")))),
    ("dataset.name = 'cifar10'", where(cmp(Dataset("name"), "=", S("cifar10")))),
    ("datasets.digest = 'abc'", where(cmp(Dataset("digest"), "=", S("abc")))),
    ("dataset.version >= 2", where(cmp(Dataset("version"), ">=", N(2.0)))),
    ("dataset.role = 'train'", where(cmp(Dataset("role"), "=", S("train")))),
    ("datasets.context = 'train'", where(cmp(Dataset("role"), "=", S("train")))),
    # --- attributes and MLflow aliases ------------------------------------------------------
    ("owner = 'alice'", where(cmp(A("owner"), "=", S("alice")))),
    ("project = 'vision'", where(cmp(A("project"), "=", S("vision")))),
    ("group = 'sweep-1'", where(cmp(A("group"), "=", S("sweep-1")))),
    ("git.commit like 'abc%'", where(Like(A("git.commit"), "abc%"))),
    ("git.branch = 'main'", where(cmp(A("git.branch"), "=", S("main")))),
    ("status = 'FINISHED'", where(cmp(A("status"), "=", S("finished")))),
    ("attributes.status = 'FAILED'", where(cmp(A("status"), "=", S("failed")))),
    ("attribute.name = 'x'", where(cmp(A("name"), "=", S("x")))),
    ("attr.run_name = 'x'", where(cmp(A("name"), "=", S("x")))),
    ("attributes.run_id = 'ABC'", where(cmp(A("id"), "=", S("abc")))),
    ("attributes.user_id = 'bob'", where(cmp(A("owner"), "=", S("bob")))),
    ("attributes.`Run Name` = 'x'", where(cmp(A("name"), "=", S("x")))),
    ("run_name = 'x'", where(cmp(A("name"), "=", S("x")))),
    ("status IN ('RUNNING', 'Killed')", where(InList(A("status"), (S("running"), S("killed"))))),
    # --- times ------------------------------------------------------------------------------
    ('created >= "2026-01-01"', where(cmp(A("created"), ">=", Timestamp(JAN_1)))),
    ("created < '2026-01-01T10:00:00Z'", where(cmp(A("created"), "<", Timestamp(JAN_1 + 36000)))),
    ("started > '2026-01-01 10:00'", where(cmp(A("started"), ">", Timestamp(JAN_1 + 36000)))),
    ("ended < '2026-01-01T12:00:00+02:00'", where(cmp(A("ended"), "<", Timestamp(JAN_1 + 36000)))),
    ("created > 1767225600", where(cmp(A("created"), ">", Timestamp(JAN_1)))),
    ("attributes.start_time > 1767225600000", where(cmp(A("started"), ">", Timestamp(JAN_1)))),
    ("attributes.end_time <= 1767225600000", where(cmp(A("ended"), "<=", Timestamp(JAN_1)))),
    ("attributes.created > 1767225600000", where(cmp(A("created"), ">", Timestamp(JAN_1)))),
    # --- relative times and durations -------------------------------------------------------
    ("created > now - 7d", where(cmp(A("created"), ">", RelativeTime(-7 * 86400.0)))),
    ("created > NOW-2w", where(cmp(A("created"), ">", RelativeTime(-14 * 86400.0)))),
    ("ended < now + 90m", where(cmp(A("ended"), "<", RelativeTime(5400.0)))),
    ("started <= now - 1.5h", where(cmp(A("started"), "<=", RelativeTime(-5400.0)))),
    ("ended < now", where(cmp(A("ended"), "<", RelativeTime(0.0)))),
    ("created > now - 30s", where(cmp(A("created"), ">", RelativeTime(-30.0)))),
    ("duration > 2h", where(cmp(A("duration"), ">", N(7200.0)))),
    ("duration <= 90", where(cmp(A("duration"), "<=", N(90.0)))),
    # --- boolean logic and precedence -------------------------------------------------------
    (
        "metrics.a > 1 and params.b = 'x' AND tags.c = 'y'",
        where(
            And(
                (
                    cmp(M("a"), ">", N(1.0)),
                    cmp(P("b"), "=", S("x")),
                    cmp(T("c"), "=", S("y")),
                )
            )
        ),
    ),
    (
        "metrics.a > 1 or metrics.b > 1 and metrics.c > 1",
        where(
            Or(
                (
                    cmp(M("a"), ">", N(1.0)),
                    And((cmp(M("b"), ">", N(1.0)), cmp(M("c"), ">", N(1.0)))),
                )
            )
        ),
    ),
    (
        "(metrics.a > 1 or metrics.b > 1) and metrics.c > 1",
        where(
            And(
                (
                    Or((cmp(M("a"), ">", N(1.0)), cmp(M("b"), ">", N(1.0)))),
                    cmp(M("c"), ">", N(1.0)),
                )
            )
        ),
    ),
    (
        "not metrics.a > 1 and metrics.b > 1",
        where(And((Not(cmp(M("a"), ">", N(1.0))), cmp(M("b"), ">", N(1.0))))),
    ),
    ("not (metrics.a > 1)", where(Not(cmp(M("a"), ">", N(1.0))))),
    ("NOT NOT metrics.a > 1", where(Not(Not(cmp(M("a"), ">", N(1.0)))))),
    (
        "(metrics.a > 1 and metrics.b > 1) and (metrics.c > 1)",
        where(
            And(
                (
                    cmp(M("a"), ">", N(1.0)),
                    cmp(M("b"), ">", N(1.0)),
                    cmp(M("c"), ">", N(1.0)),
                )
            )
        ),
    ),
    (
        "metrics.a > 1\n  and\tparams.b = 'x'",
        where(And((cmp(M("a"), ">", N(1.0)), cmp(P("b"), "=", S("x"))))),
    ),
    # --- order by / limit -------------------------------------------------------------------
    ("", Query()),
    ("   ", Query()),
    ("order by metrics.m1 desc", Query(order_by=(OrderItem(M("m1"), descending=True),))),
    (
        "ORDER  BY created DESC, params.lr asc, name",
        Query(
            order_by=(
                OrderItem(A("created"), descending=True),
                OrderItem(P("lr")),
                OrderItem(A("name")),
            )
        ),
    ),
    ("limit 10", Query(limit=10)),
    ("limit 0", Query(limit=0)),
    (
        "metrics.m0 > 0.5 and params.p3 = 'a' order by metrics.m1 desc limit 100",
        Query(
            where=And((cmp(M("m0"), ">", N(0.5)), cmp(P("p3"), "=", S("a")))),
            order_by=(OrderItem(M("m1"), descending=True),),
            limit=100,
        ),
    ),
    (
        "tags.x is null order by metrics.loss.min limit 5",
        Query(where=IsNull(T("x")), order_by=(OrderItem(M("loss", "min")),), limit=5),
    ),
    ("order by attributes.start_time desc", Query(order_by=(OrderItem(A("started"), True),))),
    # --- harmless parses of hostile text ----------------------------------------------------
    (
        "params.`x'; drop table experiments; --` = 1",
        where(cmp(P("x'; drop table experiments; --"), "=", N(1.0))),
    ),
]

MLFLOW_FILTERS = [
    "metrics.acc > 0.9 and params.opt = 'adam' and attributes.status = 'FINISHED'",
    'metrics.rmse < 1 and params.model = "tree"',
    "params.`model class` = 'LinearRegression'",
    'metrics."model accuracy" >= 0.75',
    "tags.`mlflow.source.type` = 'LOCAL'",
    "attributes.run_name = 'my run' and attributes.start_time >= 1700000000000",
    "attributes.run_id IN ('a1b2', 'c3d4')",
    "attributes.status != 'RUNNING' and attributes.end_time < 1800000000000",
    "params.lr LIKE '0.0%' and tags.team ILIKE '%vision%'",
    "attributes.user_id = 'alice' and attributes.created > 1700000000000",
    "datasets.name IN ('cifar10', 'mnist') AND datasets.digest = 'abc'",
    "run_name = 'x' and status = 'FAILED' and start_time > 0",
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_parse(text: str, expected: Query) -> None:
    assert parse_query(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "<empty>" for c in CASES])
def test_canonical_text_round_trips(text: str, expected: Query) -> None:
    canonical = to_text(expected)
    assert parse_query(canonical) == expected
    assert to_text(parse_query(canonical)) == canonical


@pytest.mark.parametrize("text", MLFLOW_FILTERS)
def test_mlflow_filters_are_accepted(text: str) -> None:
    assert parse_query(text).where is not None


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 40


def test_parse_filter_refuses_order_by() -> None:
    assert parse_filter("metrics.a > 1") == cmp(M("a"), ">", N(1.0))
    assert parse_filter("") is None
    with pytest.raises(Exception, match="order by"):
        parse_filter("metrics.a > 1 order by name")


def test_parse_order_by_mlflow_style() -> None:
    assert parse_order_by(["metrics.acc DESC", "attributes.start_time", "params.`a b` asc"]) == (
        OrderItem(M("acc"), descending=True),
        OrderItem(A("started")),
        OrderItem(P("a b")),
    )
    assert parse_order_by([]) == ()


def test_keywords_are_not_mistaken_for_fields_or_keys() -> None:
    query = parse_query("params.order = 1 and params.limit = 2 order by params.desc desc")
    assert query.where == And((cmp(P("order"), "=", N(1.0)), cmp(P("limit"), "=", N(2.0))))
    assert query.order_by == (OrderItem(P("desc"), descending=True),)


def test_long_flat_conjunction_parses() -> None:
    text = " and ".join(f"params.p{i} = {i}" for i in range(150))
    parsed = parse_query(text).where
    assert isinstance(parsed, And)
    assert len(parsed.items) == 150


def test_the_grammar_is_compiled_once() -> None:
    # Building the LALR tables is the slow part; how fast parsing is, is the benchmark's job.
    from mled.query import parser

    parse_query("metrics.a > 1")
    built = parser._lark.cache_info().currsize
    for _ in range(20):
        parse_query("metrics.m0 > 0.5 and params.p3 = 'a' order by metrics.m1 desc limit 100")
    assert parser._lark.cache_info().currsize == built == 1
