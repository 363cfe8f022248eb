"""The compiled SQL against the reference evaluator, on SQLite and PostgreSQL.

Rows are written straight into the tables (see ``query_dataset``), so these tests depend on the
schema only. Every query's full result, order included and walked page by page, must equal the
evaluator's on the same experiments.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from query_cases import FILTERS, ORDERS
from query_dataset import Loaded, Loader, empty_tables, load, population
from query_factories import BASE, make_experiment, zoo_experiments
from query_strategies import NOW, queries, walked_queries
from sqlalchemy import Connection, Engine, create_engine

from mled.entities import Experiment
from mled.query.ast import Like, Query, Tag
from mled.query.compiler import compile_search
from mled.query.evaluate import evaluate
from mled.query.parser import parse_query
from mled.query.patterns import like_matches
from mled.query.render import to_text
from mled.store.sql.tables import experiments, metadata, metrics, params, tags

ZOO_NOW = BASE + 3 * 86400


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("query") / "search.db"
        eng = create_engine(f"sqlite:///{path}")
        metadata.create_all(eng)
    else:
        uri: str = request.getfixturevalue("pg_database")
        eng = create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
    empty_tables(eng)
    yield eng
    empty_tables(eng)
    eng.dispose()


@pytest.fixture(scope="module")
def datasets(engine: Engine) -> tuple[Loaded, Loaded]:
    """The hand-made zoo and a random population, each in its own projects."""
    zoo, pop = load(engine, [(zoo_experiments(), {}), population(seed=7, size=160, prefix="q")])
    return zoo, pop


WALKS: list[dict[str, Any]] = [
    {},  # the defaults: small results are read in one window
    {"first_window": 1, "budget": 4},  # gives up on the index almost at once
    {"first_window": 2, "budget": 1_000},  # many small windows, then the index runs out
]
"""Settings of the index walk (see mled.query.walk), to take each of its branches."""


def run_sql(
    conn: Connection,
    query: Query,
    project_ids: list[int] | None,
    *,
    page_size: int,
    now: float,
    walk: dict[str, Any] | None = None,
) -> list[int]:
    """All result keys, fetched page by page."""
    out: list[int] = []
    token: str | None = None
    for _ in range(10_000):
        search = compile_search(
            query, project_ids=project_ids, page_token=token, limit=page_size, now=now
        )
        rows = search.fetch(lambda stmt: conn.execute(stmt).all(), **(walk or {}))
        page, token = search.paginate(rows)
        out.extend(page)
        if token is None:
            return out
    raise AssertionError("pagination did not end")


def oracle(data: Loaded, query: Query, now: float) -> list[int]:
    found = evaluate(
        query, data.experiments, now=now, tiebreak=data.tiebreak, datasets=data.datasets
    )
    return [data.pk[e.id] for e in found]


@pytest.mark.parametrize(("text", "expected"), FILTERS, ids=[f[0] or "<all>" for f in FILTERS])
def test_documented_filters(
    engine: Engine, datasets: tuple[Loaded, Loaded], text: str, expected: set[str]
) -> None:
    zoo = datasets[0]
    with engine.connect() as conn:
        got = run_sql(conn, parse_query(text), zoo.project_ids, page_size=100, now=ZOO_NOW)
    assert {e for e, pk in zoo.pk.items() if pk in got} == expected


@pytest.mark.parametrize(("text", "expected"), ORDERS, ids=[o[0] or "<default>" for o in ORDERS])
def test_documented_orders(
    engine: Engine, datasets: tuple[Loaded, Loaded], text: str, expected: list[str]
) -> None:
    zoo = datasets[0]
    by_pk = {pk: e for e, pk in zoo.pk.items()}
    with engine.connect() as conn:
        for page_size, walk in itertools.product((1, 3, 100), WALKS):
            query = parse_query(text)
            got = run_sql(conn, query, zoo.project_ids, page_size=page_size, now=ZOO_NOW, walk=walk)
            assert [by_pk[pk] for pk in got] == expected


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries, page_size=st.integers(1, 40))
def test_sql_matches_the_oracle(
    engine: Engine, datasets: tuple[Loaded, Loaded], query: Query, page_size: int
) -> None:
    data = datasets[1]
    expected = oracle(data, query, NOW)
    with engine.connect() as conn:
        got = run_sql(conn, query, data.project_ids, page_size=page_size, now=NOW)
    assert got == expected, to_text(query)
    reparsed = parse_query(to_text(query))
    assert oracle(data, reparsed, NOW) == expected


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=walked_queries, page_size=st.integers(1, 40), walk=st.sampled_from(WALKS))
def test_metric_index_walk_matches_the_oracle(
    engine: Engine,
    datasets: tuple[Loaded, Loaded],
    query: Query,
    page_size: int,
    walk: dict[str, Any],
) -> None:
    """Sorted by one metric: the index walk gives the oracle's rows and order, page by page,
    whether it finds the page in the index, gives up on it, or runs out of it."""
    data = datasets[1]
    expected = oracle(data, query, NOW)
    with engine.connect() as conn:
        got = run_sql(conn, query, data.project_ids, page_size=page_size, now=NOW, walk=walk)
    assert got == expected, to_text(query)


def test_search_is_restricted_to_the_given_projects(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    zoo, pop = datasets
    with engine.connect() as conn:
        assert sorted(run_sql(conn, Query(), zoo.project_ids, page_size=50, now=NOW)) == sorted(
            zoo.pk.values()
        )
        assert run_sql(conn, Query(), [], page_size=50, now=NOW) == []
        everything = run_sql(conn, Query(), None, page_size=1000, now=NOW)
    assert len(everything) == len(zoo.pk) + len(pop.pk)


@pytest.mark.parametrize(
    "text",
    [
        "metrics.acc is not null order by metrics.acc desc, name",
        "order by metrics.acc desc",  # walks the metric index
    ],
)
def test_pages_are_stable_under_concurrent_inserts(
    engine: Engine, datasets: tuple[Loaded, Loaded], text: str
) -> None:
    """Rows inserted between two pages never make the next page repeat or skip old rows."""
    data = datasets[1]
    query = parse_query(text)
    before = oracle(data, query, NOW)
    assert len(before) > 20
    with engine.connect() as conn:
        first = compile_search(query, project_ids=data.project_ids, limit=10, now=NOW)
        page1, token = first.paginate(first.fetch(lambda stmt: conn.execute(stmt).all()))
    newcomers = [
        make_experiment(f"z{i}", project="proj-a", name=n, metrics={"acc": [v]})
        for i, (n, v) in enumerate([("aaa", 2e300), ("zzz", -2e300), ("mmm", 0.5), ("m", 0.91)])
    ]
    try:
        with engine.begin() as conn:
            loader = Loader(conn, first_pk=100_000)
            added = {loader.add(e) for e in newcomers}
        with engine.connect() as conn:
            rest: list[int] = []
            while token is not None:
                search = compile_search(
                    query, project_ids=data.project_ids, page_token=token, limit=10
                )
                page, token = search.paginate(search.fetch(lambda stmt: conn.execute(stmt).all()))
                rest.extend(page)
        seen = page1 + rest
        assert len(seen) == len(set(seen))
        assert [pk for pk in seen if pk not in added] == before
    finally:
        with engine.begin() as conn:
            conn.execute(metrics.delete().where(metrics.c.experiment_id >= 100_000))
            conn.execute(experiments.delete().where(experiments.c.id >= 100_000))


def test_repeated_statement_shapes_bind_fresh_values(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """Same SQL shape, different literals: the compiled-statement cache must not mix them up."""
    zoo = datasets[0]
    by_pk = {pk: e for e, pk in zoo.pk.items()}
    with engine.connect() as conn:
        for pattern, expected in [("resnet%", {"e1"}), ("vit%", {"e4"}), ("R%", {"e2"})]:
            got = run_sql(
                conn, parse_query(f"name like '{pattern}'"), zoo.project_ids, page_size=9, now=0
            )
            assert {by_pk[pk] for pk in got} == expected


@contextmanager
def added(
    engine: Engine, newcomers: list[Experiment], project: str, *, first_pk: int
) -> Iterator[tuple[dict[int, str], list[int]]]:
    """Load ``newcomers`` (all in ``project``) with keys from ``first_pk``, yield ``{key:
    experiment id}`` and the project's key in a list, and delete them afterwards."""
    try:
        with engine.begin() as conn:
            loader = Loader(conn, first_pk=first_pk)
            pks = {e.id: loader.add(e) for e in newcomers}
            project_ids = [loader.projects[project]]
        yield {pk: e for e, pk in pks.items()}, project_ids
    finally:
        with engine.begin() as conn:
            for table in (params, tags, experiments):
                key = table.c.id if table is experiments else table.c.experiment_id
                conn.execute(table.delete().where(key >= first_pk))


def test_long_text_values_compare_in_full(engine: Engine, datasets: tuple[Loaded, Loaded]) -> None:
    """Equality goes through the indexed 200-character prefix, then the full text decides."""
    head = "x" * 250
    values = {"l1": head + "a", "l2": head + "b", "l3": head[:199] + "é"}
    newcomers = [
        make_experiment(e, project="long-values", params={"cfg": v}, tags={"note": v})
        for e, v in values.items()
    ]
    with added(engine, newcomers, "long-values", first_pk=200_000) as (by_pk, project):
        cases = [
            (f"params.cfg = '{head}a'", {"l1"}),
            (f"tags.note = '{head}b'", {"l2"}),
            (f"tags.note = '{head}'", set()),
            (f"params.cfg in ('{head}b', '{head[:199]}é')", {"l2", "l3"}),
            (f"tags.note in ('{head}a', 'zz')", {"l1"}),
            (f"tags.note != '{head}a'", {"l2", "l3"}),
            (f"params.cfg not in ('{head}a')", {"l2", "l3"}),
            (f"not tags.note = '{head}a' and params.cfg = '{head}b'", {"l2"}),
        ]
        with engine.connect() as conn:
            for text, expected in cases:
                got = run_sql(conn, parse_query(text), project, page_size=10, now=NOW)
                assert {by_pk[pk] for pk in got} == expected, text


def test_param_and_tag_sorts_walk_their_indexes_in_the_oracles_order(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """Sorted by one param, the walk reads its numbers (ties broken by their text), then its
    other texts by their 200-character prefix; sorted by a tag, that tag's prefixes; either
    hands over to the plan at the first value the prefix may not hold whole. Ties, numbers
    spelled as strings, long values sharing a prefix, and missing ones: every page, window
    size and direction as the reference evaluator sorts them."""
    head = "k" * 199
    values: dict[str, Any] = {
        "s1": 0.5,
        "s2": "0.5",  # the same number as s1, a different text
        "s3": "5e-1",
        "s4": 2,
        "s5": True,
        "s6": "adam",
        "s7": "adam",  # a tie broken by the key
        "s8": "Adam",
        "s9": head + "az",  # s9 and s10 share their 200-character prefix; the text decides
        "s10": head + "ab" + "c" * 30,
        "s17": head + "b",
        "s11": head,
        "s12": "kz",
        "s13": {"a": 1},
        "s14": float("inf"),
        "s15": "",
    }
    newcomers = [
        make_experiment(e, project="param-sort", params={"o": v}, tags={"t": e[-1], "o": str(v)})
        for e, v in values.items()
    ]
    newcomers.append(make_experiment("s16", project="param-sort", tags={"t": "6"}))  # no o
    newcomers += [  # a run of equal values longer than a window, met mid-page
        make_experiment(
            f"r{i}", project="param-sort", params={"o": "tie"}, tags={"t": "1", "o": "tie"}
        )
        for i in range(7)
    ]
    sorts = ["order by params.o", "order by tags.o"]
    texts = [f"{w}{o}" for o in sorts for w in ("", "tags.t in ('1', '5', '6') ")]
    queries = [parse_query(t + d) for t in texts for d in ("", " desc")]
    with added(engine, newcomers, "param-sort", first_pk=600_000) as (by_pk, project):
        keys = {e: pk for pk, e in by_pk.items()}
        with engine.connect() as conn:
            for query, page_size, walk in itertools.product(queries, (1, 4, 100), WALKS):
                want = evaluate(query, newcomers, now=NOW, tiebreak=lambda e: keys[e.id])
                got = run_sql(conn, query, project, page_size=page_size, now=NOW, walk=walk)
                assert [by_pk[pk] for pk in got] == [e.id for e in want], (to_text(query), walk)


def test_tag_prefix_patterns_match_exactly_at_the_range_edges(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """``like 'p%'`` on a tag reads a range of the indexed prefix (``prefix_range``); values
    just inside and just outside it, long ones and the code points next to the surrogates
    and to U+10FFFF must match exactly as the reference evaluator says."""
    head = "y" * 199
    values = {
        "v1": "vis",
        "v2": "vision",
        "v3": "vit",
        "v4": "vir\U0010ffff",
        "v5": "a\ud7ff",
        "v6": "a\ue000",
        "v7": head + "z" * 10,
        "v8": head + "zq",
        "v9": "\U0010ffff",
        "v10": "Vision",
    }
    newcomers = [
        make_experiment(e, project="prefix-range", tags={"t": v}) for e, v in values.items()
    ]
    patterns = [
        "vis%",
        "vi%",
        "v%",
        "vir\U0010ffff%",
        "a\ud7ff%",
        "a\ue000%",
        f"{head}z%",
        f"{head}zq%",
        f"{head}zz%",
        "\U0010ffff%",
        "vis_%",
        "V%",
    ]
    with added(engine, newcomers, "prefix-range", first_pk=300_000) as (by_pk, project):
        with engine.connect() as conn:
            for pattern in patterns:
                query = Query(where=Like(Tag("t"), pattern))
                got = {by_pk[pk] for pk in run_sql(conn, query, project, page_size=20, now=NOW)}
                want = {e.id for e in newcomers if like_matches(e.tags["t"], pattern)}
                assert got == want, pattern


def assert_as_the_oracle(
    conn: Connection,
    wheres: list[str],
    newcomers: list[Experiment],
    by_pk: dict[int, str],
    project: list[int],
) -> None:
    """Each filter of ``wheres`` finds in ``project`` exactly the ``newcomers`` the reference
    evaluator says."""
    for where in wheres:
        query = parse_query(where)
        got = {by_pk[pk] for pk in run_sql(conn, query, project, page_size=20, now=NOW)}
        assert got == {e.id for e in evaluate(query, newcomers, now=NOW)}, where


def test_param_text_tests_read_both_indexes_exactly(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """``!=``, ``not in`` and ``like`` on a param read the rows with and without a number
    through their own indexes (``_param_text_reads``; at the top level a literal-start
    ``like`` reads a range of the text index). Values of every kind, long ones, strings that
    spell numbers and ``true``, in and out of ``or``/``not``, must match exactly as the
    reference evaluator says."""
    head = "r" * 199
    values: dict[str, Any] = {
        "w1": "resnet50",
        "w2": "resnet",
        "w3": "ReSNet",
        "w4": head + "esnet",  # long: its prefix ends in "e"
        "w5": head + "x" * 50,
        "w6": "0.5",  # a string with a number
        "w7": 0.5,
        "w8": 1,
        "w9": True,
        "w10": " 1e3 ",
        "w11": float("nan"),
        "w12": {"arch": "resnet"},
        "w13": "",
    }
    newcomers = [
        make_experiment(e, project="param-text", params={"m": v}, tags={"t": "x"})
        for e, v in values.items()
    ]
    newcomers.append(make_experiment("w14", project="param-text", tags={"t": "x"}))  # no m
    literals = ["resnet", "0.5", "1", "true", head + "esnet", head + "x" * 50, "", "nan", " 1e3 "]
    patterns = ["resnet%", "res%", "r%", "%net%", "0.%", "%5", "tr_e", f"{head}e%", "%x", "_%"]
    filters = [f"params.m != '{v}'" for v in literals]
    filters += [f"params.m not in ('{a}', '{b}')" for a, b in itertools.pairwise(literals)]
    for p in patterns:
        filters += [f"params.m {op} '{p}'" for op in ("like", "ilike", "not like", "not ilike")]
        filters.append(f"params.m like '{p.upper()}' or tags.t = 'y'")
    with added(engine, newcomers, "param-text", first_pk=400_000) as (by_pk, project):
        with engine.connect() as conn:
            wheres = [w for t in filters for w in (t, f"not ({t})", f"({t}) or tags.t = 'y'")]
            assert_as_the_oracle(conn, wheres, newcomers, by_pk, project)


def test_tag_text_tests_inside_or_and_not_read_the_index_exactly(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """Inside ``or``/``not``, a tag test other than ``=``/``in`` decides short values on the
    index's 200-character prefix and reads only the longer ones whole (``text_rows``); values
    either side of 200 characters and literals longer than that must match exactly as the
    reference evaluator says."""
    head = "m" * 199
    values = {
        "g1": "vision",
        "g2": "Vision",
        "g3": head,
        "g4": head + "a",
        "g5": head + "z" * 30,
        "g6": "",
        "g7": "nlp",
    }
    newcomers = [
        make_experiment(e, project="tag-text", tags={"t": v, "u": "x"}) for e, v in values.items()
    ]
    literals = ["vision", head, head + "a", head + "b", "", "m", "n"]
    filters = [f"tags.t {op} '{v}'" for v in literals for op in ("!=", "<", "<=", ">", ">=")]
    filters += [f"tags.t not in ('{a}', '{b}')" for a, b in itertools.pairwise(literals)]
    patterns = ["vis%", "%ision", "%a", f"{head}_", f"{head}z%", "%", "_%n%", "V%"]
    filters += [f"tags.t {op} '{p}'" for p in patterns for op in ("like", "ilike", "not ilike")]
    with added(engine, newcomers, "tag-text", first_pk=500_000) as (by_pk, project):
        with engine.connect() as conn:
            wheres = [w for t in filters for w in (f"not ({t})", f"({t}) or tags.u = 'y'")]
            assert_as_the_oracle(conn, wheres, newcomers, by_pk, project)


def _counted_fetch(
    conn: Connection, query: Query, project_ids: list[int], limit: int, **walk: Any
) -> tuple[list[int], list[str]]:
    """The first page and the statements run for it (``walk`` for the index, else ``plan``)."""
    search = compile_search(query, project_ids=project_ids, limit=limit, now=NOW)
    kinds: list[str] = []

    def run(stmt: Any) -> list[Any]:
        sql = str(stmt)
        kinds.append("walk" if any(f"walk_{t}" in sql for t in "empt") else "plan")
        return list(conn.execute(stmt).all())

    ids, _ = search.paginate(search.fetch(run, **walk))
    return ids, kinds


def test_a_top_page_is_found_in_one_window_of_the_index(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    data = datasets[1]
    query = parse_query("order by metrics.acc desc")
    with engine.connect() as conn:
        ids, kinds = _counted_fetch(conn, query, data.project_ids, 5)
    assert ids == oracle(data, query, NOW)[:5]
    assert kinds == ["walk"]


def test_a_selective_filter_hands_the_page_to_the_planner(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """No hit in the first windows: the estimate exceeds the budget and the plan finishes."""
    data = datasets[1]
    query = parse_query("name = 'no such run' order by metrics.acc")
    with engine.connect() as conn:
        ids, kinds = _counted_fetch(conn, query, data.project_ids, 5, first_window=4, budget=50)
    assert ids == []
    assert kinds[-1] == "plan"
    assert 1 <= kinds.count("walk") <= 3


@pytest.mark.parametrize(
    ("text", "limit", "walk_newest", "kinds"),
    [
        ("metrics.acc > 0.5", 5, True, ["walk"]),  # the newest experiments hold the page
        ("metrics.acc > 0.5", 5, False, ["plan"]),  # PostgreSQL: its planner does the same
        ("metrics.acc > 0.5", 1_000, True, ["plan"]),  # a large page, the store's size unknown
        ("metrics.acc > 0.5 order by created desc", 5, True, ["plan"]),  # a sort key
        ("", 5, True, ["plan"]),  # no filter: the plan already reads the newest first
    ],
)
def test_a_filter_with_no_sort_key_walks_the_experiments_newest_first(
    engine: Engine,
    datasets: tuple[Loaded, Loaded],
    text: str,
    limit: int,
    walk_newest: bool,
    kinds: list[str],
) -> None:
    data = datasets[1]
    query = parse_query(text)
    with engine.connect() as conn:
        ids, ran = _counted_fetch(conn, query, data.project_ids, limit, walk_newest=walk_newest)
    assert ids == oracle(data, query, NOW)[:limit]
    assert ran == kinds


@pytest.mark.parametrize(
    ("text", "experiments", "kinds"),
    [
        # In a store this large, walking beats the plan at any rate the filter passes: past
        # the first window, the walk reads every experiment (then the plan adds none).
        ("metrics.acc > 0.5", 10**8, ["walk", "walk", "plan"]),
        # In a smaller one (least_hit_rate 28%), a filter that passes none of the first
        # window: the page's own statement is run from its start.
        ("metrics.acc > 1e9", 30_000, ["walk", "plan"]),
        ("status != 'failed'", 10**8, ["plan"]),  # columns of experiments: read newest first
    ],
)
def test_a_large_page_walks_newest_first_only_while_enough_experiments_pass(
    engine: Engine,
    datasets: tuple[Loaded, Loaded],
    text: str,
    experiments: int,
    kinds: list[str],
) -> None:
    """A page larger than NEWEST_PAGE_MAX measures the filter's rate in a first window and
    goes on walking only above least_hit_rate (mled.query.walk)."""
    data = datasets[1]
    query = parse_query(text)
    expected = oracle(data, query, NOW)
    with engine.connect() as conn:
        ids, ran = _counted_fetch(
            conn, query, data.project_ids, 1_000, first_window=16, experiments=experiments
        )
    assert ids == expected[:1_000]
    assert ran == kinds


def test_experiments_without_the_metric_come_after_the_walked_ones(
    engine: Engine, datasets: tuple[Loaded, Loaded]
) -> None:
    """The index runs out (missing or NaN values sort last): the plan adds the rest."""
    data = datasets[1]
    query = parse_query("order by metrics.acc")
    expected = oracle(data, query, NOW)
    with engine.connect() as conn:
        ids, kinds = _counted_fetch(conn, query, data.project_ids, len(expected))
    assert ids == expected
    assert kinds == ["walk", "plan"]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("order by tags.team", ["walk", "plan"]),  # the tags, then those without one
        ("order by params.opt desc", ["walk", "walk", "plan"]),  # numbers, texts, missing
    ],
)
def test_text_lanes_are_walked_on_every_database(
    engine: Engine, datasets: tuple[Loaded, Loaded], text: str, kinds: list[str]
) -> None:
    """Text indexes are in code-point order on both databases (``COLLATE "C"`` on
    PostgreSQL), so the walk reads them as it reads the number indexes."""
    data = datasets[1]
    query = parse_query(text)
    expected = oracle(data, query, NOW)
    with engine.connect() as conn:
        ids, ran = _counted_fetch(conn, query, data.project_ids, len(expected))
    assert ids == expected
    assert ran == kinds


@pytest.mark.parametrize(
    ("text", "experiments", "kind"),
    [
        ("metrics.acc > 0 order by metrics.acc desc", 10_000, "plan"),  # small: the plan pays
        ("metrics.acc > 0 order by metrics.acc desc", 100_000, "walk"),
        ("metrics.acc > 0 order by metrics.acc desc", None, "walk"),  # size unknown
        ("order by metrics.acc desc", 10_000, "walk"),  # no filter: the plan would sort all
    ],
)
def test_only_large_stores_walk_the_index_for_a_filtered_search(
    engine: Engine,
    datasets: tuple[Loaded, Loaded],
    text: str,
    experiments: int | None,
    kind: str,
) -> None:
    data = datasets[1]
    query = parse_query(text)
    with engine.connect() as conn:
        ids, kinds = _counted_fetch(conn, query, data.project_ids, 5, experiments=experiments)
    assert ids == oracle(data, query, NOW)[:5]
    assert kinds[0] == kind
