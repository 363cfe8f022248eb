"""CompareService: params side by side, the best experiment per metric, aligned histories."""

from __future__ import annotations

import math

import pytest

from mled.entities import NewExperiment
from mled.errors import ExperimentNotFound, InvalidInput, PermissionDenied
from mled.service import Services
from mled.service.compare import metric_direction
from mled.service.context import ServiceContext
from mled.store.sql.store import SqlStore


def _run(services: Services, name: str, params: dict, metrics: dict) -> str:
    series = {
        k: (list(range(len(v))), [1.0 + i for i in range(len(v))], list(v))
        for k, v in metrics.items()
    }
    spec = NewExperiment(project="p", name=name, status="finished", params=params, metrics=series)
    return services.experiments.create(spec).id


@pytest.fixture
def three(services: Services) -> list[str]:
    return [
        _run(
            services,
            "a",
            {"lr": 0.1, "bs": 32, "opt": "adam"},
            {"val/loss": [0.9, 0.5, 0.4], "acc": [0.5, 0.7, 0.8], "only_a": [1.0]},
        ),
        _run(
            services,
            "b",
            {"lr": 0.01, "bs": 32, "opt": "adam", "wd": 0.1},
            {"val/loss": [0.8, 0.3], "acc": [0.6, 0.9]},
        ),
        _run(
            services,
            "c",
            {"lr": 0.001, "bs": 32, "opt": "sgd"},
            {"val/loss": [1.0, 0.7, 0.6, float("nan")], "acc": [0.4, 0.85]},
        ),
    ]


def test_params_side_by_side_with_differences_marked(services: Services, three: list[str]) -> None:
    cmp = services.compare.compare(three, histories=False)
    assert cmp.ids == three
    by_key = {p.key: p for p in cmp.params}
    assert list(by_key) == ["bs", "lr", "opt", "wd"]
    assert not by_key["bs"].differs
    assert by_key["lr"].differs
    assert by_key["lr"].values == dict(zip(three, [0.1, 0.01, 0.001], strict=True))
    assert by_key["opt"].differs
    assert by_key["wd"].differs
    assert by_key["wd"].values == {three[1]: 0.1}
    assert [p.key for p in cmp.differing_params] == ["lr", "opt", "wd"]
    assert cmp.histories == {}


def test_best_per_metric_follows_the_direction(services: Services, three: list[str]) -> None:
    cmp = services.compare.compare(three, histories=False)
    metrics = {m.key: m for m in cmp.metrics}
    assert metrics["val/loss"].direction == "min"
    assert metrics["val/loss"].best == three[1]
    assert metrics["val/loss"].best_value == 0.3
    assert metrics["acc"].direction == "max"
    assert metrics["acc"].best == three[1]
    assert metrics["acc"].best_value == 0.9
    summary = metrics["val/loss"].summaries[three[2]]
    assert math.isnan(summary.last)
    assert summary.min == 0.6
    assert summary.max == 1.0
    assert set(metrics["only_a"].summaries) == {three[0]}
    flipped = services.compare.compare(three, directions={"acc": "lower"}, histories=False)
    assert {m.key: m for m in flipped.metrics}["acc"].best == three[0]
    with pytest.raises(InvalidInput):
        services.compare.compare(three, directions={"acc": "sideways"})


def test_histories_of_common_keys_aligned_on_step(services: Services, three: list[str]) -> None:
    cmp = services.compare.compare(three)
    assert set(cmp.histories) == {"acc", "val/loss"}
    loss = cmp.histories["val/loss"]
    assert loss.steps == [0, 1, 2, 3]
    assert loss.values[three[0]] == [0.9, 0.5, 0.4, None]
    assert loss.values[three[1]] == [0.8, 0.3, None, None]
    assert loss.values[three[2]][:3] == [1.0, 0.7, 0.6]
    assert math.isnan(loss.values[three[2]][3])


def test_histories_are_downsampled_to_max_points(services: Services) -> None:
    ids = [_run(services, name, {}, {"loss": [1 / (i + 1) for i in range(500)]}) for name in "xy"]
    cmp = services.compare.compare(ids, max_points=50)
    loss = cmp.histories["loss"]
    assert 0 in loss.steps
    assert 499 in loss.steps
    assert len(loss.steps) <= 50
    with pytest.raises(InvalidInput):
        services.compare.compare(ids, max_points=1)


def test_prefixes_duplicates_and_bad_ids(services: Services, three: list[str]) -> None:
    cmp = services.compare.compare([three[0], three[0][:30], three[1]], histories=False)
    assert cmp.ids == three[:2]
    with pytest.raises(ExperimentNotFound):
        services.compare.compare([three[0], "ffffffff"])
    with pytest.raises(InvalidInput):
        services.compare.compare([])


def test_compare_needs_read_permission(services: Services, store: SqlStore, three: list[str]):
    bob = services.users.create("bob")
    as_bob = Services.for_context(ServiceContext(store=store, actor=bob))
    with pytest.raises(PermissionDenied):
        as_bob.compare.compare(three)
    services.users.set_role("p", "bob", "project_manager")
    assert as_bob.compare.compare(three, histories=False).ids == three


@pytest.mark.parametrize(
    ("key", "direction"),
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("Error_rate", "min"),
        ("err", "min"),
        ("mae", "min"),
        ("rmse", "min"),
        ("perplexity", "min"),
        ("epoch_time", "min"),
        ("latency_ms", "min"),
        ("accuracy", "max"),
        ("f1", "max"),
        ("reward", "max"),
    ],
)
def test_direction_heuristic(key: str, direction: str) -> None:
    assert metric_direction(key) == direction
