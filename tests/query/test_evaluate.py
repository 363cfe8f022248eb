"""The reference evaluator: the documented semantics, checked on a hand-made set of experiments."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from query_cases import FILTERS, ORDERS
from query_factories import BASE

from mled.entities import Experiment
from mled.errors import InvalidInput
from mled.query.evaluate import evaluate, param_columns, sort_experiments
from mled.query.parser import parse_query

NOW = BASE + 3 * 86400  # 2026-01-04


def ids(query: str, experiments: list[Experiment]) -> list[str]:
    return [e.id for e in evaluate(parse_query(query), experiments, now=NOW)]


def matching(query: str, experiments: list[Experiment]) -> set[str]:
    return set(ids(query, experiments))


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[f[0] or "<all>" for f in FILTERS])
def test_filter(query: str, expected: set[str], zoo: list[Experiment]) -> None:
    assert matching(query, zoo) == expected


@pytest.mark.parametrize(("query", "expected"), ORDERS, ids=[o[0] or "<default>" for o in ORDERS])
def test_order(query: str, expected: list[str], zoo: list[Experiment]) -> None:
    assert ids(query, zoo) == expected


def test_tiebreak_can_be_the_integer_key(zoo: list[Experiment]) -> None:
    keys = {"e1": 4, "e2": 3, "e3": 2, "e4": 1}
    ordered = sort_experiments(zoo, (), tiebreak=lambda e: keys[e.id])
    assert [e.id for e in ordered] == ["e1", "e2", "e3", "e4"]


def test_limit_applies_after_sorting(zoo: list[Experiment]) -> None:
    assert ids("metrics.acc is not null order by metrics.acc desc limit 1", zoo) == ["e3"]
    assert ids("limit 0", zoo) == []


def test_now_defaults_to_the_current_time(zoo: list[Experiment]) -> None:
    assert evaluate(parse_query("created > now + 520w"), zoo) == []
    assert len(evaluate(parse_query("created < now + 520w"), zoo)) == 4


def test_dataset_fields_need_the_input_datasets(zoo: list[Experiment]) -> None:
    with pytest.raises(InvalidInput, match="dataset fields are not available yet"):
        evaluate(parse_query("dataset.name = 'cifar10'"), zoo)
    with pytest.raises(InvalidInput, match="dataset fields are not available yet"):
        evaluate(parse_query("order by dataset.version"), zoo)


@dataclass(frozen=True)
class Input:
    name: str
    version: int
    digest: str
    role: str = "train"


INPUTS = {
    "e1": [Input("cifar10", 1, "aa"), Input("mnist", 3, "bb", "test")],
    "e2": [Input("cifar10", 2, "cc")],
    "e3": [],
    "e4": [Input("ImageNet", 1, "dd", "val")],
}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dataset.name = 'cifar10'", ["e2", "e1"]),
        ("dataset.name = 'cifar10' and dataset.version = 3", ["e1"]),  # two different inputs
        ("dataset.name != 'cifar10'", ["e4", "e1"]),  # some input is not cifar10
        ("not dataset.name = 'cifar10'", ["e4", "e3"]),
        ("dataset.version in (2, 3)", ["e2", "e1"]),
        ("dataset.digest not in ('aa', 'cc')", ["e4", "e1"]),
        ("dataset.name ilike 'IMAGE%'", ["e4"]),
        ("dataset.name not like 'c%'", ["e4", "e1"]),
        ("dataset.name is null", ["e3"]),
        ("dataset.digest is not null", ["e4", "e2", "e1"]),
        ("order by dataset.version desc", ["e2", "e4", "e1", "e3"]),
        ("order by dataset.name", ["e4", "e2", "e1", "e3"]),
        ("dataset.role = 'test'", ["e1"]),
        ("datasets.context in ('val', 'test')", ["e4", "e1"]),  # MLflow's name
        ("dataset.role != 'train'", ["e4", "e1"]),
        ("order by dataset.role desc", ["e4", "e2", "e1", "e3"]),  # smallest role per experiment
    ],
)
def test_dataset_fields(query: str, expected: list[str], zoo: list[Experiment]) -> None:
    found = evaluate(parse_query(query), zoo, now=NOW, datasets=lambda e: INPUTS[e.id])
    assert [e.id for e in found] == expected


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (True, ("bool", "true", 1.0)),
        (False, ("bool", "false", 0.0)),
        (3, ("int", "3", 3.0)),
        (0.1, ("float", "0.1", 0.1)),
        (float("nan"), ("float", "nan", None)),
        (float("inf"), ("float", "inf", None)),
        ("0.001", ("str", "0.001", 0.001)),
        (" 5 ", ("str", " 5 ", 5.0)),
        ("1e400", ("str", "1e400", None)),
        ("abc", ("str", "abc", None)),
        ("nan", ("str", "nan", None)),
        ([1, "a"], ("json", '[1,"a"]', None)),
        ({"b": 1, "a": 2}, ("json", '{"a":2,"b":1}', None)),
    ],
)
def test_param_columns_mirror_the_writer(
    value: object, stored: tuple[str, str, float | None]
) -> None:
    assert param_columns(value) == stored
