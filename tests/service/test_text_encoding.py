"""Text that is not valid Unicode (a lone UTF-16 surrogate, which Python makes of undecodable
bytes with ``errors='surrogateescape'``) is the caller's InvalidInput on every path into the
store, reads included, and nothing of the refused call is stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mled.entities import NewExperiment
from mled.errors import InvalidInput
from mled.service import Services

LONE = "caf\udce9"  # b"caf\xe9" decoded with surrogateescape


def _spec(**fields: object) -> NewExperiment:
    values: dict[str, object] = {"project": "vision", "name": "run", **fields}
    return NewExperiment(**values)  # type: ignore[arg-type]


CREATIONS: dict[str, NewExperiment] = {
    "param value": _spec(params={"path": LONE}),
    "tag value": _spec(tags={"owner": LONE}),
    "experiment name": _spec(name=LONE),
    "project name": _spec(project=LONE),
    "notes": _spec(notes=LONE),
}


@pytest.mark.parametrize("spec", CREATIONS.values(), ids=CREATIONS.keys())
def test_creating_with_a_lone_surrogate_is_invalid_input(
    services: Services, spec: NewExperiment
) -> None:
    with pytest.raises(InvalidInput, match="not valid Unicode") as info:
        services.experiments.create(spec)
    assert (info.value.code, info.value.status) == ("invalid_input", 400)
    assert "surrogate" in (info.value.hint or "")
    assert services.experiments.list() == []


def test_an_import_with_one_bad_text_stores_none_of_the_batch(services: Services) -> None:
    specs = [_spec(name="ok"), _spec(name="bad", params={"p": LONE})]
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        services.experiments.import_many(specs)
    assert services.experiments.list() == []


UPDATES: dict[str, Callable[[Services, str], object]] = {
    "log_params": lambda s, i: s.experiments.log_params(i, {"p": LONE}),
    "set_tags": lambda s, i: s.experiments.set_tags(i, {"t": LONE}),
}


@pytest.mark.parametrize("update", UPDATES.values(), ids=UPDATES.keys())
def test_updating_with_a_lone_surrogate_changes_nothing(
    services: Services, update: Callable[[Services, str], object]
) -> None:
    experiment = services.experiments.create(_spec(status="running"))
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        update(services, experiment.id)
    again = services.experiments.get(experiment.id)
    assert (again.params, again.tags) == (experiment.params, experiment.tags)


def test_searching_for_a_lone_surrogate_is_invalid_input(services: Services) -> None:
    services.experiments.create(_spec())
    with pytest.raises(InvalidInput, match="not valid Unicode"):
        services.search.search(f"name = '{LONE}'")
