"""Query plans on a store shaped like the benchmark's (20 params, 10 metrics, 5 tags each).

``metrics.m0 > 0.5 and params.p3 = 'a' order by metrics.m1 desc limit 100`` must be answered
from indexes, never by a full scan, both by the planner's own statement and by the walk of the
``metrics.m1`` index (see mled.query.walk), whose windows must seek the index, not scan it.
The planner decides from the statistics' proportions, so
20,000 experiments give the plan of 100,000 in a fifth of the set-up time. How fast it runs
is measured by the search benchmark (``bench/run_all.py --only search``, figures in
docs/benchmarks.md), not asserted here.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.dialects import sqlite

from mled.query.compiler import CompiledSearch, compile_search
from mled.query.parser import parse_query
from mled.store.sql.tables import metadata

EXPERIMENTS = 20_000
METRIC_INDEX = "ix_metrics_key_last_experiment_id_min_max_count"
Q1 = "metrics.m0 > 0.5 and params.p3 = 'a' order by metrics.m1 desc limit 100"

pytestmark = pytest.mark.slow


def _build(path: Path) -> None:
    engine = create_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    engine.dispose()
    rnd = random.Random(1)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(
        "INSERT INTO users (id, username, is_admin, disabled, created_at) VALUES (1, 'u', 0, 0, 0)"
    )
    con.execute(
        "INSERT INTO projects (id, public_id, name, description, created_at, created_by) "
        "VALUES (1, 'p1', 'p1', '', 0, 1), (2, 'p2', 'p2', '', 0, 1)"
    )
    exps: list[tuple[object, ...]] = []
    ps: list[tuple[object, ...]] = []
    ms: list[tuple[object, ...]] = []
    ts: list[tuple[object, ...]] = []
    for i in range(1, EXPERIMENTS + 1):
        created = 1.7e9 + i
        exps.append((i, f"{i:032x}", 1 + i % 2, f"run-{i % 1000}", "finished", 1, created))
        for k in range(20):
            if k % 4 == 3:
                text = rnd.choice("abcde")
                ps.append((i, f"p{k}", "str", text, None, text))
            else:
                num = rnd.random()
                ps.append((i, f"p{k}", "float", repr(num), num, repr(num)))
        for k in range(10):
            value = rnd.random()
            ms.append((len(ms) + 1, i, f"m{k}", value, value, value, 1, 0, created))
        for k in range(5):
            tag = rnd.choice(["vision", "nlp", "rl", "audio"])
            ts.append((i, f"t{k}", tag, tag))
    con.executemany(
        "INSERT INTO experiments (id, public_id, project_id, name, status, owner_id, created_at,"
        " notes) VALUES (?, ?, ?, ?, ?, ?, ?, '')",
        exps,
    )
    con.executemany(
        "INSERT INTO params (experiment_id, key, value_type, value_text, value_num, value_prefix)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        ps,
    )
    con.executemany(
        "INSERT INTO metrics (id, experiment_id, key, last, min, max, count, last_step,"
        " last_timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ms,
    )
    con.executemany(
        "INSERT INTO tags (experiment_id, key, value, value_prefix) VALUES (?, ?, ?, ?)", ts
    )
    con.commit()
    con.execute("ANALYZE")
    con.close()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("perf") / "big.db"
    _build(path)
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_q1_uses_indexes_not_a_scan(big: Engine) -> None:
    search = compile_search(parse_query(Q1), project_ids=[1, 2], limit=100, now=0.0)
    sql = str(
        search.statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    )
    with big.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    assert not [step for step in plan if step.startswith("SCAN")], plan
    # It starts from the param (a fifth of the rows, measured by ANALYZE) rather than from the
    # metric range (half of them; see METRIC_RANGE_LIKELIHOOD), through the covering index.
    assert plan[0].startswith("SEARCH f_1 USING COVERING INDEX ix_params_key_value_prefix"), plan


def _plan(engine: Engine, stmt: Any) -> list[str]:
    compiled = stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"render_postcompile": True})
    values = tuple(compiled.params[name] for name in compiled.positiontup)
    with engine.connect() as conn:
        return [
            row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), values)
        ]


def assert_seeks_in_index_order(plan: list[str]) -> None:
    """A window's plan: it seeks the index and reads it in the index's own order, so only the
    window's few rows are sorted, never a run of equal values."""
    assert [s for s in plan if s.startswith("SCAN")] == ["SCAN walk"], plan
    assert [s for s in plan if "TEMP B-TREE" in s] == ["USE TEMP B-TREE FOR ORDER BY"], plan


def assert_walk_is_the_plan(big: Engine, search: CompiledSearch) -> None:
    """The walked page has the rows of the planner's statement, in its order."""
    with big.connect() as conn:
        walked = search.fetch(lambda stmt: conn.execute(stmt).all())
        planned = conn.execute(search.statement).all()
    assert [tuple(r) for r in walked] == [tuple(r) for r in planned]


def test_q1_walks_the_sort_index_in_windows_that_seek_it(big: Engine) -> None:
    search = compile_search(parse_query(Q1), project_ids=[1, 2], limit=100, now=0.0)
    assert search.walk is not None
    (lane,) = search.walk.lanes
    for cursor in (None, (0.75, None, False), (0.75, ((0.75,), 1234), False)):
        plan = _plan(big, search.walk.window(lane, cursor, 202))
        assert any(f"USING COVERING INDEX {METRIC_INDEX}" in s for s in plan)
        assert_seeks_in_index_order(plan)
    assert_walk_is_the_plan(big, search)


NUM_INDEX = "ix_params_key_value_num_experiment_id"
PREFIX_INDEX = "ix_params_key_value_prefix_experiment_id_value_num"


@pytest.mark.parametrize("text", ["order by params.p0 desc", "params.p3 = 'a' order by params.p0"])
def test_a_param_sort_walks_its_number_then_its_text_index(big: Engine, text: str) -> None:
    search = compile_search(parse_query(text), project_ids=[1, 2], limit=100, now=0.0)
    assert search.walk is not None
    number, texts = search.walk.lanes
    for lane, index, cursor in [
        (number, NUM_INDEX, None),
        (number, NUM_INDEX, (0.5, None, False)),
        (number, NUM_INDEX, (0.5, ((0.5, "0.5"), 1234), False)),
        (texts, PREFIX_INDEX, None),
        (texts, PREFIX_INDEX, ("c", None, False)),
        (texts, PREFIX_INDEX, ("c", ((None, "c"), 1234), False)),
        (texts, PREFIX_INDEX, ("c", ((None, "c"), 1234), True)),  # the run of 'c', by key
    ]:
        plan = _plan(big, search.walk.window(lane, cursor, 202))
        assert any(f"INDEX {index} (key=?" in s for s in plan), plan
        assert_seeks_in_index_order(plan)
    assert_walk_is_the_plan(big, search)


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ("params.p3 = 'a'", {PREFIX_INDEX}),
        ("params.p3 in ('a', 'b')", {PREFIX_INDEX}),
        ("params.p0 < 0.01", {NUM_INDEX}),
        ("params.p0 in (0.5, 0.25)", {NUM_INDEX}),
        # Text that spells a number: a prefix lookup among text rows, a number lookup among
        # the others (each params row is in exactly one of the two partial indexes).
        ("params.p0 = '0.5'", {PREFIX_INDEX, NUM_INDEX}),
        ("params.p0 = 'true'", {PREFIX_INDEX, NUM_INDEX}),
        # Presence of a key: the rows of that key in both indexes (a test on the key alone
        # can use neither, and read every params row of the store).
        ("params.p0 is null", {PREFIX_INDEX, NUM_INDEX}),
        ("params.nothere is null", {PREFIX_INDEX, NUM_INDEX}),
        ("params.p3 is not null or status = 'failed'", {PREFIX_INDEX, NUM_INDEX}),
        # Text tests the indexes decide: the text rows on their prefix, the number rows by
        # their number (none can be 'a'; one could be '0.5'); inside `or` and `not` too.
        ("params.p3 != 'a' or status = 'failed'", {PREFIX_INDEX, NUM_INDEX}),
        ("params.p0 != '0.5' or status = 'failed'", {PREFIX_INDEX, NUM_INDEX}),
        ("params.p3 not in ('a', 'b') or status = 'failed'", {PREFIX_INDEX, NUM_INDEX}),
        ("not params.p3 like 'a%'", {PREFIX_INDEX}),
        ("params.p3 not like 'a%' or status = 'failed'", {PREFIX_INDEX, NUM_INDEX}),
        ("params.p3 ilike '%B%' or status = 'failed'", {PREFIX_INDEX}),
        ("params.p3 like 'a%'", {PREFIX_INDEX}),
    ],
)
def test_param_filters_seek_the_partial_indexes(big: Engine, query: str, indexes: set[str]) -> None:
    search = compile_search(parse_query(query), project_ids=[1, 2], limit=100, now=0.0)
    plan = _plan(big, search.statement)
    used = {name for name in (NUM_INDEX, PREFIX_INDEX) if any(name in step for step in plan)}
    assert used == indexes, plan
    assert not [s for s in plan if s.startswith("SCAN") and "params" in s], plan


TAG_INDEX = "ix_tags_key_value_prefix_experiment_id"


@pytest.mark.parametrize("text", ["order by tags.t0 desc", "params.p3 = 'a' order by tags.t1"])
def test_a_tag_sort_walks_the_tag_index(big: Engine, text: str) -> None:
    search = compile_search(parse_query(text), project_ids=[1, 2], limit=100, now=0.0)
    assert search.walk is not None
    (lane,) = search.walk.lanes
    for cursor in (
        None,
        ("nlp", None, False),
        ("nlp", (("nlp",), 1234), False),
        ("nlp", None, True),
    ):
        plan = _plan(big, search.walk.window(lane, cursor, 202))
        assert any(f"COVERING INDEX {TAG_INDEX} (key=?" in s for s in plan), plan
        assert_seeks_in_index_order(plan)
    assert_walk_is_the_plan(big, search)


@pytest.mark.parametrize(
    "query",
    [
        "tags.t0 ilike 'VIS%' or status = 'failed'",
        "tags.t0 != 'vision' or status = 'failed'",
        "not tags.t0 > 'r'",
        "tags.t0 not in ('nlp', 'rl') or status = 'failed'",
    ],
)
def test_tag_tests_inside_or_and_not_read_the_tag_index(big: Engine, query: str) -> None:
    search = compile_search(parse_query(query), project_ids=[1, 2], limit=100, now=0.0)
    plan = _plan(big, search.statement)
    assert any(f"COVERING INDEX {TAG_INDEX} (key=?" in step for step in plan), plan
    assert not [s for s in plan if s.startswith("SCAN") and "tags" in s], plan


@pytest.mark.parametrize(
    ("query", "exact"),
    [
        ("tags.t0 like 'vis%'", True),
        ("tags.t0 like 'vis%n'", False),
        ("tags.t0 like 'v_s%'", False),
    ],
)
def test_tag_prefix_patterns_seek_a_range_of_the_tag_index(
    big: Engine, query: str, exact: bool
) -> None:
    search = compile_search(parse_query(query), project_ids=[1, 2], limit=100, now=0.0)
    plan = _plan(big, search.statement)
    seek = f"{TAG_INDEX} (key=? AND value_prefix>? AND value_prefix<?)"
    assert any(seek in step for step in plan), plan
    # Literal text then `%` alone is answered by the index (its entries hold the prefix).
    assert any(f"COVERING INDEX {TAG_INDEX}" in step for step in plan) == exact, plan


@pytest.mark.parametrize("condition", ["max < 0.1", "min >= 0.5", "count > 3"])
def test_the_metric_index_alone_answers_filters_on_extremes_and_counts(
    big: Engine, condition: str
) -> None:
    """min, max and count are in the metric's value index, so the metric rows matching
    ``metrics.m0.max < 0.1`` (the condition the compiler joins, or probes per experiment)
    are found without reading each row from the table."""
    sql = f"SELECT experiment_id FROM metrics WHERE key = 'm0' AND {condition}"
    with big.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    assert plan == [f"SEARCH metrics USING COVERING INDEX {METRIC_INDEX} (key=?)"]
