"""Experiment summaries: exact encodings, and rows that always equal what the tables say.

Every write path that changes params, tags or metric summaries (create, import, log_params,
set_tags, delete_tag, a metric flush) must leave the summary row equal to the one derived
from the tables; and an experiment whose summary row is gone still loads, from the tables.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mled.entities import Experiment, MetricSummary, NewExperiment, User
from mled.service import Services
from mled.store.sql.frozen import frozen_builder
from mled.store.sql.loading import decode_param, load_experiments
from mled.store.sql.store import SqlStore
from mled.store.sql.summaries import (
    decode_document,
    decode_metrics,
    derive_summary,
    encode_metrics,
    encode_params,
    encode_tags,
)
from mled.store.sql.tables import experiment_summaries, experiments
from mled.validation import encode_param

T0 = 1_700_000_000.0


def _json_containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    _json_containers,
    max_leaves=8,
)
param_values = (
    st.text(max_size=30).filter(lambda s: "\x00" not in s)
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats()
    | st.booleans()
    | st.lists(json_values, max_size=3)
)
keys = st.from_regex(r"[A-Za-z0-9_.:/-]{1,12}", fullmatch=True)


def _same(a: Any, b: Any) -> bool:
    """Equality in which NaN equals NaN and -0.0 differs from 0.0 (exactness, not ==)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, param_values, max_size=8))
def test_params_decode_to_exactly_what_the_tables_give(params: dict[str, Any]) -> None:
    stored = {k: encode_param(v)[:2] for k, v in params.items()}
    decoded = decode_document(encode_params(stored))  # as loading reads it
    assert list(decoded) == sorted(stored)
    for key, (vtype, text) in stored.items():
        assert _same(decoded[key], decode_param(vtype, text)), (key, vtype, text)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, st.text(max_size=30), max_size=6))
def test_tags_round_trip(tags: dict[str, str]) -> None:
    assert json.loads(encode_tags(tags)) == decode_document(encode_tags(tags)) == tags


finite_or_none = st.none() | st.floats(allow_nan=False)
metric_rows = st.dictionaries(
    keys,
    st.tuples(
        finite_or_none,  # last (None: the last value was NaN)
        finite_or_none,
        finite_or_none,
        st.integers(min_value=1, max_value=2**62),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(metric_rows)
def test_metric_summaries_round_trip_exactly(rows: dict[str, tuple[Any, ...]]) -> None:
    decoded = decode_metrics(*encode_metrics((k, *v) for k, v in rows.items()))
    assert list(decoded) == sorted(rows)
    for key, (last, lo, hi, count, step, ts) in rows.items():
        got = decoded[key]
        assert math.isnan(got.last) if last is None else _same(got.last, last)
        assert (got.min is None, got.max is None) == (lo is None, hi is None)
        assert lo is None or _same(got.min, lo)
        assert hi is None or _same(got.max, hi)
        assert (got.count, got.last_step, got.last_timestamp) == (count, step, ts)


@dataclass(frozen=True)
class NoSlots:
    x: int


def test_the_frozen_builder_makes_equal_objects_and_refuses_other_classes() -> None:
    build = frozen_builder(User)
    assert build(1, "alice", True, False) == User(1, "alice", True, False)
    with pytest.raises(TypeError):
        build(1, "alice")
    with pytest.raises(TypeError):
        frozen_builder(NoSlots)


def _stored(store: SqlStore) -> dict[int, tuple[Any, ...]]:
    def run(conn: Any) -> dict[int, tuple[Any, ...]]:
        rows = conn.execute(experiment_summaries.select()).all()
        return {r[0]: (r[1], r[2], r[3], bytes(r[4])) for r in rows}

    return store.read(run)


def _derived(store: SqlStore) -> dict[int, tuple[Any, ...]]:
    def run(conn: Any) -> dict[int, tuple[Any, ...]]:
        pks = [r[0] for r in conn.execute(experiments.select().with_only_columns(experiments.c.id))]
        return {
            pk: tuple(
                bytes(v) if isinstance(v, memoryview) else v for v in derive_summary(conn, pk)
            )
            for pk in pks
        }

    return store.read(run)


def _spec(name: str, **extra: Any) -> NewExperiment:
    return NewExperiment(project="vision", name=name, **extra)


def test_every_write_keeps_the_summary_equal_to_the_tables(
    store: SqlStore, services: Services
) -> None:
    exp = services.experiments.create(
        _spec(
            "live",
            params={"lr": 0.001, "opt": "adam", "big": 2**80, "odd": math.inf, "cfg": {"a": [1]}},
            tags={"team": "nlp"},
            metrics={"loss": ([0, 1], [T0, T0 + 1], [0.5, math.nan])},
        )
    )
    services.experiments.import_many(
        [
            _spec(
                f"old-{i}",
                status="finished",
                params={"i": i},
                metrics={"acc": ([0], [T0], [i / 3])},
            )
            for i in range(3)
        ]
    )
    assert _stored(store) == _derived(store)
    services.experiments.log_params(exp.id, {"wd": "1e-4", "nan": math.nan})
    services.experiments.set_tags(exp.id, {"team": "vision", "new": "x"})
    services.experiments.delete_tag(exp.id, "new")
    services.metrics.log_batch(exp.id, {"loss": ([2], [T0 + 2], [0.25]), "acc": ([0], [T0], [0.9])})
    assert _stored(store) == _derived(store)

    got = services.experiments.get(exp.id)
    assert got.params["wd"] == "1e-4"
    assert math.isnan(got.params["nan"])
    assert got.params["big"] == 2**80
    assert got.params["odd"] == math.inf
    assert got.tags == {"team": "vision"}
    assert got.metric_summaries["loss"] == MetricSummary("loss", 0.25, 0.25, 0.5, 3, 2, T0 + 2)
    assert got.metrics == {"acc": 0.9, "loss": 0.25}


def test_an_experiment_without_its_summary_row_loads_from_the_tables(
    store: SqlStore, services: Services
) -> None:
    exp = services.experiments.create(
        _spec("x", params={"lr": 0.1}, tags={"t": "v"}, metrics={"m": ([0], [T0], [1.0])})
    )
    services.experiments.get(exp.id)  # writes the staged experiment's rows

    def load(conn: Any) -> Experiment:
        return load_experiments(conn, [conn.execute(experiments.select()).first()[0]])[0]

    before = store.read(load)
    store.write(lambda conn: conn.execute(experiment_summaries.delete()))
    after = store.read(load)
    assert after == before == services.experiments.get(exp.id)


def test_seeds_and_capture_beyond_64_bits_load_as_exact_ints(services: Services) -> None:
    """They are decoded with orjson, which would read such ints as floats."""
    exp = services.experiments.create(
        _spec(
            "seeded",
            params={"seed": 2**64, "neg": -(2**63) - 1, "cfg": {"ids": [2**70, 1]}},
            seeds={"torch": 2**70, "numpy": 2**32},
            environment={"hash": 2**100, "load": math.nan},
        )
    )
    got = services.experiments.get(exp.id)
    assert got.params == {"seed": 2**64, "neg": -(2**63) - 1, "cfg": {"ids": [2**70, 1]}}
    assert type(got.params["seed"]) is int
    assert got.seeds == {"torch": 2**70, "numpy": 2**32}
    assert type(got.seeds["torch"]) is int
    assert got.environment == {"hash": 2**100, "load": "NaN"}
    assert type(got.environment["hash"]) is int
