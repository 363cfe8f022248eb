"""Params and documents (seeds, command, environment, source) nested more than MAX_NESTING
deep are refused with a clear error before anything is stored, instead of a RecursionError
from some JSON encoder or decoder on the way in or, worse, on the way out."""

from __future__ import annotations

from typing import Any

import pytest

from mled.entities import NewExperiment
from mled.errors import InvalidInput, InvalidParamValue
from mled.service import Services
from mled.validation import MAX_NESTING


def _deep(depth: int = MAX_NESTING + 1) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = {f"level{i}": value}
    return value


DEEP_SPECS: dict[str, tuple[dict[str, Any], type[InvalidInput]]] = {
    "param": ({"params": {"config": _deep()}}, InvalidParamValue),
    "seeds": ({"seeds": _deep()}, InvalidInput),
    "command": ({"command": _deep()}, InvalidInput),
    "environment": ({"environment": _deep(2_000)}, InvalidInput),
    "source": ({"source": _deep()}, InvalidInput),
}


@pytest.mark.parametrize(("fields", "error"), DEEP_SPECS.values(), ids=DEEP_SPECS.keys())
def test_creating_with_a_too_deep_value_is_refused(
    services: Services, fields: dict[str, Any], error: type[InvalidInput]
) -> None:
    with pytest.raises(error, match=f"more than {MAX_NESTING} deep"):
        services.experiments.create(NewExperiment(project="p", name="run", **fields))
    assert services.experiments.list() == []


def test_a_value_nested_to_the_limit_is_stored_and_read_back(services: Services) -> None:
    value = _deep(MAX_NESTING)
    spec = NewExperiment(project="p", name="run", params={"config": value}, seeds=value)
    created = services.experiments.create(spec)
    again = services.experiments.get(created.id)
    assert again.params["config"] == value
    assert again.seeds == value
    (found,) = services.search.search("params.config is not null").items
    assert found.params["config"] == value


def test_an_import_with_one_too_deep_param_stores_nothing_and_names_it(
    services: Services,
) -> None:
    specs = [
        NewExperiment(project="p", name="ok"),
        NewExperiment(project="p", name="deep", params={"config": _deep()}),
    ]
    with pytest.raises(InvalidParamValue, match=r"^experiment 1: param value nests"):
        services.experiments.import_many(specs)
    assert services.experiments.list() == []


def test_setting_too_deep_seeds_changes_nothing(services: Services) -> None:
    created = services.experiments.create(NewExperiment(project="p", name="run", seeds={"a": 1}))
    with pytest.raises(InvalidInput, match="seeds nests"):
        services.experiments.set_seeds(created.id, _deep())
    assert services.experiments.get(created.id).seeds == {"a": 1}
