"""Metric batches and histories: exact values, ordering, summaries, downsampling."""

from __future__ import annotations

import math
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mled.entities import MetricHistory, NewExperiment, Series
from mled.errors import (
    ExperimentNotActive,
    InvalidInput,
    InvalidKey,
    InvalidMetricValue,
    MetricNotFound,
)
from mled.ids import new_id
from mled.service import Services
from mled.service.metrics import _merge
from mled.store.sql.codec import encode_chunk
from mled.store.sql.store import SqlStore
from statement_count import counted_statements

T0 = 1_700_000_000.0


@pytest.fixture
def exp_id(services: Services) -> str:
    return services.experiments.create(NewExperiment(project="vision", name="run")).id


def _series(points: list[tuple[int, float, float]]) -> Series:
    return ([p[0] for p in points], [p[1] for p in points], [p[2] for p in points])


def test_a_batch_round_trips_exactly(services: Services, exp_id: str) -> None:
    points = [(i, T0 + i / 3, math.sin(i) / 7) for i in range(500)]
    assert services.metrics.log_batch(exp_id, {"loss": _series(points)}) == 500
    history = services.metrics.history(exp_id, "loss")
    assert isinstance(history, MetricHistory)
    assert history == points
    assert history.steps == [p[0] for p in points]
    assert history.timestamps == [p[1] for p in points]
    assert history.values == [p[2] for p in points]


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_infinities_are_stored_faithfully(
    services: Services, exp_id: str, special: float
) -> None:
    points = [(0, T0, 1.0), (1, T0 + 1, special), (2, T0 + 2, 0.5), (3, T0 + 3, special)]
    services.metrics.log_batch(exp_id, {"loss": _series(points)})
    history = services.metrics.history(exp_id, "loss")
    assert history == points  # NaN-aware comparison
    got = history.values[1]
    assert math.isnan(got) if math.isnan(special) else got == special
    last = services.experiments.get(exp_id).metrics["loss"]
    assert math.isnan(last) if math.isnan(special) else last == special


def test_summary_keeps_last_min_max_count_ignoring_nan(services: Services, exp_id: str) -> None:
    services.metrics.log_batch(
        exp_id, {"loss": _series([(0, T0, 0.9), (1, T0, math.nan), (2, T0, 0.4)])}
    )
    services.metrics.log_batch(exp_id, {"loss": _series([(3, T0, 0.6), (4, T0, math.nan)])})
    summary = services.experiments.get(exp_id).metric_summaries["loss"]
    assert (summary.min, summary.max, summary.count, summary.last_step) == (0.4, 0.9, 5, 4)
    assert math.isnan(summary.last)
    services.metrics.log_batch(exp_id, {"loss": _series([(5, T0, 0.2)])})
    exp = services.experiments.get(exp_id)
    assert exp.metrics == {"loss": 0.2}
    assert exp.metric_summaries["loss"].min == 0.2


def test_a_batch_of_new_and_known_keys_updates_each_summary(
    services: Services, exp_id: str
) -> None:
    services.metrics.log_batch(exp_id, {"b": _series([(0, T0, 1.0)])})
    services.metrics.log_batch(
        exp_id, {"a": _series([(1, T0, 5.0)]), "b": _series([(1, T0, -1.0), (2, T0, 3.0)])}
    )
    exp = services.experiments.get(exp_id)
    assert exp.metrics == {"a": 5.0, "b": 3.0}
    b = exp.metric_summaries["b"]
    assert (b.min, b.max, b.count, b.last_step) == (-1.0, 3.0, 3, 2)
    assert services.metrics.history(exp_id, "b").values == [1.0, -1.0, 3.0]
    assert services.metrics.history(exp_id, "a").values == [5.0]


def test_a_batch_of_known_keys_waits_for_few_statements(
    services: Services, store: SqlStore, exp_id: str
) -> None:
    """The summaries' updates and the chunks' insert of a batch are sent together: on
    PostgreSQL the client waits for the reads and the experiment summary's update only, not
    for a round trip per metric key."""
    keys = [f"m{i}" for i in range(10)]
    services.metrics.log_batch(exp_id, {k: _series([(0, T0, 0.0)]) for k in keys})
    with counted_statements(store) as statements:
        services.metrics.log_batch(exp_id, {k: _series([(1, T0 + 1, 1.0)]) for k in keys})
    assert statements.count("UPDATE") >= len(keys), statements
    if store.dialect == "postgresql":
        assert "INSERT" not in statements.waited, statements.waited
        assert statements.waited.count("UPDATE") == 1, statements.waited
    assert services.experiments.get(exp_id).metrics == dict.fromkeys(keys, 1.0)


def test_several_values_at_one_step_are_kept_in_timestamp_order(
    services: Services, exp_id: str
) -> None:
    services.metrics.log_batch(
        exp_id, {"loss": _series([(5, T0 + 3, 0.3), (5, T0 + 1, 0.1), (4, T0 + 9, 0.0)])}
    )
    services.metrics.log_batch(exp_id, {"loss": _series([(5, T0 + 2, 0.2), (5, T0 + 4, 0.4)])})
    history = services.metrics.history(exp_id, "loss")
    assert list(history) == [
        (4, T0 + 9, 0.0),
        (5, T0 + 1, 0.1),
        (5, T0 + 2, 0.2),
        (5, T0 + 3, 0.3),
        (5, T0 + 4, 0.4),
    ]
    assert services.experiments.get(exp_id).metrics["loss"] == 0.4  # newest at the last step


def test_steps_logged_out_of_order_come_back_sorted(services: Services, exp_id: str) -> None:
    steps = list(range(300))
    random.Random(7).shuffle(steps)
    for part in (steps[:100], steps[100:200], steps[200:]):
        services.metrics.log_batch(exp_id, {"acc": _series([(s, T0, s / 300) for s in part])})
    history = services.metrics.history(exp_id, "acc")
    assert history.steps == list(range(300))
    assert history.values == [s / 300 for s in range(300)]
    summary = services.experiments.get(exp_id).metric_summaries["acc"]
    assert (summary.last_step, summary.last, summary.count) == (299, 299 / 300, 300)


def test_a_lower_step_logged_later_does_not_become_the_last_value(
    services: Services, exp_id: str
) -> None:
    services.metrics.log_batch(exp_id, {"loss": _series([(10, T0, 0.1)])})
    services.metrics.log_batch(exp_id, {"loss": _series([(3, T0 + 5, 0.9)])})
    assert services.experiments.get(exp_id).metrics["loss"] == 0.1


def test_several_keys_in_one_batch_are_one_audit_event(services: Services, exp_id: str) -> None:
    batch = {f"k{i}": _series([(0, T0, float(i))]) for i in range(5)}
    services.metrics.log_batch(exp_id, batch)
    event = services.audit.events(limit=1000)[-1]
    assert event.action == "metrics.log"
    assert event.after["points"] == 5
    assert sorted(event.after["chunks"]) == sorted(batch)
    assert services.experiments.get(exp_id).metrics == {f"k{i}": float(i) for i in range(5)}


def test_an_empty_batch_writes_nothing(services: Services, exp_id: str) -> None:
    events = len(services.audit.events(limit=1000))
    assert services.metrics.log_batch(exp_id, {}) == 0
    assert services.metrics.log_batch(exp_id, {"loss": ([], [], [])}) == 0
    assert len(services.audit.events(limit=1000)) == events


@pytest.mark.parametrize(
    ("batch", "error"),
    [
        ({"loss": ([0], [T0], ["abc"])}, InvalidMetricValue),
        ({"loss": ([0], [T0], [None])}, InvalidMetricValue),
        ({"loss": ([2**63], [T0], [1.0])}, InvalidMetricValue),
        ({"loss": ([0, 1], [T0], [1.0, 2.0])}, InvalidInput),
        ({"": ([0], [T0], [1.0])}, InvalidKey),
        ({"k" * 251: ([0], [T0], [1.0])}, InvalidKey),
    ],
)
def test_a_bad_batch_is_refused_whole(
    sqlite_services: Services, batch: dict[str, Series], error: type[Exception]
) -> None:
    exp_id = sqlite_services.experiments.create(NewExperiment(project="p", name="run")).id
    with pytest.raises(error):
        sqlite_services.metrics.log_batch(exp_id, {"good": ([0], [T0], [1.0]), **batch})
    assert sqlite_services.experiments.get(exp_id).metrics == {}


def test_metrics_cannot_be_logged_after_the_end(services: Services, exp_id: str) -> None:
    services.experiments.end(exp_id, "finished")
    with pytest.raises(ExperimentNotActive):
        services.metrics.log_batch(exp_id, {"loss": ([0], [T0], [1.0])})


def test_an_unknown_metric_names_the_known_ones(services: Services, exp_id: str) -> None:
    services.metrics.log_batch(exp_id, {"loss": ([0], [T0], [1.0]), "acc": ([0], [T0], [0.5])})
    with pytest.raises(MetricNotFound) as info:
        services.metrics.history(exp_id, "los")
    assert "'los'" in info.value.message
    assert "acc, loss" in info.value.message
    assert info.value.status == 404
    assert "mled experiments show" in info.value.hint


def test_history_accepts_an_id_prefix(services: Services, exp_id: str) -> None:
    services.metrics.log_batch(exp_id, {"loss": ([0], [T0], [1.0])})
    assert len(services.metrics.history(exp_id[:-4], "loss")) == 1


# --- downsampling ----------------------------------------------------------------------------


def test_max_points_downsamples_keeping_first_last_and_peaks(
    services: Services, exp_id: str
) -> None:
    values = [math.sin(i / 50) for i in range(2_000)]
    values[1234] = 50.0  # a spike must survive
    services.metrics.log_batch(
        exp_id, {"loss": _series([(i, T0 + i, v) for i, v in enumerate(values)])}
    )
    full = services.metrics.history(exp_id, "loss")
    small = services.metrics.history(exp_id, "loss", max_points=100)
    assert len(small) == 100
    assert small[0] == full[0]
    assert small[-1] == full[-1]
    assert small.steps == sorted(small.steps)
    assert set(small) <= set(full)
    assert 1234 in small.steps


def test_max_points_above_the_length_returns_everything(services: Services, exp_id: str) -> None:
    services.metrics.log_batch(exp_id, {"loss": _series([(i, T0, i) for i in range(10)])})
    assert len(services.metrics.history(exp_id, "loss", max_points=10)) == 10
    assert len(services.metrics.history(exp_id, "loss", max_points=1_000)) == 10


@pytest.mark.parametrize("max_points", [1, 0, -5])
def test_max_points_below_two_is_refused(sqlite_services: Services, max_points: int) -> None:
    with pytest.raises(InvalidInput, match="at least 2") as caught:
        sqlite_services.metrics.history(new_id(), "loss", max_points=max_points)
    assert str(max_points) in caught.value.message
    assert "first and the last point" in caught.value.hint


# --- property: merging chunks ------------------------------------------------------------------

_point = st.tuples(
    st.integers(-1_000, 1_000),
    st.floats(0, 1e9, allow_nan=False),
    st.floats(allow_nan=True, allow_infinity=True),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(_point, min_size=1, max_size=30), min_size=1, max_size=6))
def test_merging_chunks_orders_by_step_then_timestamp(
    chunks: list[list[tuple[int, float, float]]],
) -> None:
    packed = []
    for chunk in chunks:
        encoded = encode_chunk(*(list(col) for col in zip(*chunk, strict=True)))
        packed.append((encoded.steps, encoded.timestamps, encoded.values))
    merged = _merge("loss", packed)
    everything = [p for chunk in chunks for p in chunk]
    keys = [(p.step, p.timestamp) for p in merged]
    assert keys == sorted(keys)
    assert len(merged) == len(everything)
    # The same multiset of points (values compared bitwise so NaN counts too).
    as_bits = sorted((s, t, repr(v)) for s, t, v in everything)
    assert sorted((p.step, p.timestamp, repr(p.value)) for p in merged) == as_bits
    # Points with equal (step, timestamp) keep the order in which they were stored.
    for key in set(keys):
        stored = [repr(v) for s, t, v in everything if (s, t) == key]
        got = [repr(p.value) for p in merged if (p.step, p.timestamp) == key]
        assert got == stored


def test_history_of_many_chunks_is_one_sorted_series(services: Services, exp_id: str) -> None:
    now = time.time()
    for start in (200, 0, 100):
        services.metrics.log_batch(
            exp_id, {"loss": _series([(s, now, float(s)) for s in range(start, start + 100)])}
        )
    assert services.metrics.history(exp_id, "loss").steps == list(range(300))
