"""Experiments in the service layer: creation, lookup by ID or prefix, params, tags, status."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from mled.entities import NewExperiment
from mled.errors import (
    AmbiguousId,
    ExperimentNotActive,
    ExperimentNotFound,
    InvalidInput,
    InvalidKey,
    InvalidName,
    InvalidParamValue,
    MledError,
    ParamConflict,
    PermissionDenied,
)
from mled.ids import new_id
from mled.service import Services
from mled.store.sql.store import SqlStore


def _create(services: Services, name: str = "run", **fields: Any) -> str:
    spec = NewExperiment(project=fields.pop("project", "vision"), name=name, **fields)
    return services.experiments.create(spec).id


def _common_prefix(ids: list[str]) -> str:
    length = next(i for i, chars in enumerate(zip(*ids, strict=False)) if len(set(chars)) > 1)
    return ids[0][:length]


def _assert_error(err: MledError, code: str, status: int, message: list[str], hint: str) -> None:
    assert err.code == code
    assert err.status == status
    for fragment in message:
        assert fragment in err.message
    assert err.hint
    assert hint in err.hint
    problem = err.to_problem()
    assert (problem["code"], problem["status"], problem["hint"]) == (code, status, err.hint)


# --- creating and reading ----------------------------------------------------------------------


def test_create_returns_the_stored_experiment(services: Services) -> None:
    before = time.time()
    exp = services.experiments.create(
        NewExperiment(
            project="vision",
            name="resnet",
            params={"lr": 0.1},
            tags={"team": "cv"},
            group="sweep-1",
            notes="first try",
        )
    )
    assert exp.project == "vision"
    assert exp.name == "resnet"
    assert exp.status == "running"
    assert exp.owner == "alice"
    assert exp.params == {"lr": 0.1}
    assert exp.tags == {"team": "cv"}
    assert exp.group == "sweep-1"
    assert exp.notes == "first try"
    assert exp.started_at is not None
    assert exp.started_at.timestamp() >= before - 1
    assert exp.ended_at is None
    assert exp.duration is None
    assert services.experiments.get(exp.id) == exp


def test_parent_and_reproduction_links_resolve(services: Services) -> None:
    parent = _create(services, "parent")
    child = services.experiments.create(
        NewExperiment(project="vision", name="child", parent_id=parent[:-2], reproduction_of=parent)
    )
    assert child.parent_id == parent
    assert child.reproduction_of == parent


def test_list_is_newest_first_and_filters_by_project(services: Services) -> None:
    a = _create(services, "a")
    b = _create(services, "b", project="nlp")
    c = _create(services, "c")
    assert [e.id for e in services.experiments.list()] == [c, b, a]
    assert [e.id for e in services.experiments.list("vision")] == [c, a]
    assert [e.id for e in services.experiments.list(limit=1, offset=1)] == [b]


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (NewExperiment(project="p", name=""), InvalidName),
        (NewExperiment(project="", name="n"), InvalidName),
        (NewExperiment(project="p", name="n", status="paused"), InvalidInput),
        (NewExperiment(project="p", name="n", params={"": 1}), InvalidKey),
        (NewExperiment(project="p", name="n", tags={"t": ["x"]}), InvalidParamValue),
        (NewExperiment(project="p", name="n", started_at=10.0, ended_at=5.0), InvalidInput),
    ],
)
def test_invalid_creations_store_nothing(
    services: Services, spec: NewExperiment, error: type[MledError]
) -> None:
    with pytest.raises(error):
        services.experiments.create(spec)
    assert services.experiments.list() == []


# --- lookup errors -----------------------------------------------------------------------------


def test_an_unknown_id_is_experiment_not_found(services: Services) -> None:
    _create(services)
    for missing in (new_id(), "ffff", "0190a1b2-dead"):
        with pytest.raises(ExperimentNotFound) as info:
            services.experiments.get(missing)
        _assert_error(info.value, "experiment_not_found", 404, [missing], "mled experiments list")


@pytest.mark.parametrize("wildcard", ["%", "_", "0%", "____"])
def test_like_wildcards_in_a_prefix_match_nothing(services: Services, wildcard: str) -> None:
    _create(services)
    _create(services)
    with pytest.raises(ExperimentNotFound):
        services.experiments.get(wildcard)


def test_an_empty_id_is_experiment_not_found(services: Services) -> None:
    with pytest.raises(ExperimentNotFound, match="empty"):
        services.experiments.get("  ")


def test_an_ambiguous_prefix_lists_the_candidates(services: Services) -> None:
    ids = [_create(services, f"run-{i}") for i in range(3)]
    prefix = _common_prefix(ids)
    assert 1 <= len(prefix) < 36  # UUIDv7s made together share their time prefix
    with pytest.raises(AmbiguousId) as info:
        services.experiments.get(prefix)
    _assert_error(info.value, "ambiguous_id", 409, [repr(prefix), *ids], "Type more characters")
    assert "matches 3 experiments" in info.value.message
    assert info.value.details["candidates"] == sorted(ids)


def test_the_first_one_to_four_characters_shared_by_several_are_ambiguous(
    services: Services,
) -> None:
    ids = [_create(services, f"run-{i}") for i in range(2)]
    for length in (1, 2, 3, 4):
        prefix = ids[0][:length]
        assert ids[1].startswith(prefix)
        with pytest.raises(AmbiguousId, match=f"'{prefix}' matches 2 experiments"):
            services.experiments.get(prefix)


def test_more_than_ten_candidates_are_cut_short(services: Services) -> None:
    ids = [_create(services, f"run-{i}") for i in range(12)]
    with pytest.raises(AmbiguousId) as info:
        services.experiments.get(ids[0][:4])
    assert "over 10 experiments" in info.value.message
    assert info.value.message.endswith("and more")
    assert len(info.value.details["candidates"]) == 10


def test_a_unique_prefix_resolves_case_insensitively(services: Services) -> None:
    ids = [_create(services, f"run-{i}") for i in range(3)]
    for exp_id in ids:
        shortest = next(
            exp_id[:n] for n in range(1, 37) if sum(i.startswith(exp_id[:n]) for i in ids) == 1
        )
        assert services.experiments.get(shortest).id == exp_id
        assert services.experiments.get(f" {shortest.upper()} ").id == exp_id


# --- params ----------------------------------------------------------------------------------


PARAMS: dict[str, Any] = {
    "optimizer": "adam",
    "lr_text": "1e-3",
    "epochs": 10,
    "big": 2**62,
    "lr": 0.001,
    "neg_zero": -0.0,
    "inf": float("inf"),
    "use_amp": True,
    "frozen": False,
    "layers": [64, 32, [16, "x"]],
    "schedule": {"name": "cosine", "warmup": 5, "nested": {"a": None, "b": [1.5]}},
    "empty_list": [],
    "unicode": "αβγ ✓ 日本",
    "np_int": np.int64(7),
    "np_float": np.float32(0.5),
    "np_bool": np.bool_(True),
    "np_array": np.array([1.0, 2.0]),
}
EXPECTED: dict[str, Any] = {
    **PARAMS,
    "np_int": 7,
    "np_float": 0.5,
    "np_bool": True,
    "np_array": [1.0, 2.0],
}


def test_params_round_trip_with_their_types(services: Services) -> None:
    exp_id = _create(services, params=dict(list(PARAMS.items())[:8]))
    services.experiments.log_params(exp_id, dict(list(PARAMS.items())[8:]))
    got = services.experiments.get(exp_id).params
    assert got == EXPECTED
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in EXPECTED.items()}
    assert str(got["neg_zero"]) == "-0.0"


def test_relogging_the_same_value_is_a_no_op(services: Services) -> None:
    exp_id = _create(services, params={"lr": 0.1, "layers": [1, 2]})
    events = len(services.audit.events(limit=1000))
    services.experiments.log_params(exp_id, {"lr": 0.1, "layers": [1, 2]})
    services.experiments.log_params(exp_id, {"lr": np.float64(0.1)})
    assert len(services.audit.events(limit=1000)) == events
    assert services.experiments.get(exp_id).params == {"lr": 0.1, "layers": [1, 2]}


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (0.1, 0.2, ["0.1", "0.2"]),
        ("adam", "sgd", ["'adam'", "'sgd'"]),
        (1, 1.0, ["1 (int)", "1.0 (float)"]),
        (True, 1, ["True (bool)", "1 (int)"]),
        ([1, 2], [2, 1], ["[1, 2]", "[2, 1]"]),
    ],
)
def test_a_different_value_is_a_param_conflict(
    services: Services, old: Any, new: Any, fragments: list[str]
) -> None:
    exp_id = _create(services, params={"lr": old})
    with pytest.raises(ParamConflict) as info:
        services.experiments.log_params(exp_id, {"other": 1, "lr": new})
    _assert_error(info.value, "param_conflict", 409, ["'lr'", *fragments], "another key")
    assert "immutable" in info.value.hint
    params = services.experiments.get(exp_id).params
    assert params == {"lr": old}  # the whole call was refused, "other" included


def test_params_cannot_be_logged_after_the_end(services: Services) -> None:
    exp_id = _create(services)
    services.experiments.end(exp_id, "finished")
    with pytest.raises(ExperimentNotActive) as info:
        services.experiments.log_params(exp_id, {"lr": 0.1})
    _assert_error(info.value, "experiment_not_active", 409, ["'finished'"], "log_experiment")


def test_a_nul_character_is_refused_on_every_backend(services: Services) -> None:
    exp_id = _create(services)
    with pytest.raises(InvalidParamValue, match="NUL"):
        services.experiments.log_params(exp_id, {"s": "a\x00b"})
    with pytest.raises(InvalidParamValue, match="NUL"):
        services.experiments.set_tags(exp_id, {"s": "a\x00b"})
    services.experiments.log_params(exp_id, {"j": {"s": "a\x00b"}})  # JSON escapes it
    assert services.experiments.get(exp_id).params == {"j": {"s": "a\x00b"}}


# --- tags ------------------------------------------------------------------------------------


def test_tags_overwrite_and_every_change_is_audited(services: Services) -> None:
    exp_id = _create(services, tags={"team": "cv"})
    services.experiments.set_tags(exp_id, {"team": "nlp", "stage": 1})
    services.experiments.set_tags(exp_id, {"team": "nlp"})  # unchanged: no event
    services.experiments.delete_tag(exp_id, "stage")
    services.experiments.delete_tag(exp_id, "never-set")  # nothing to delete: no event
    assert services.experiments.get(exp_id).tags == {"team": "nlp"}
    changes = [
        (e.action, e.before, e.after)
        for e in services.audit.events(limit=1000)
        if e.action.startswith("tags.")
    ]
    assert changes == [
        ("tags.set", {"team": "cv", "stage": None}, {"team": "nlp", "stage": "1"}),
        ("tags.delete", {"stage": "1"}, None),
    ]


def test_tags_can_change_after_the_end(services: Services) -> None:
    exp_id = _create(services)
    services.experiments.end(exp_id, "finished")
    services.experiments.set_tags(exp_id, {"reviewed": "yes"})
    assert services.experiments.get(exp_id).tags == {"reviewed": "yes"}


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["finished", "failed", "killed"])
def test_end_sets_the_status_once(services: Services, status: str) -> None:
    exp_id = _create(services)
    services.experiments.end(exp_id, status, error="boom" if status == "failed" else None)
    services.experiments.end(exp_id, status)  # the same status again is a no-op
    exp = services.experiments.get(exp_id)
    assert exp.status == status
    assert exp.ended_at is not None
    assert exp.duration is not None
    assert exp.duration >= 0
    assert exp.error == ("boom" if status == "failed" else None)
    other = "finished" if status != "finished" else "failed"
    with pytest.raises(ExperimentNotActive, match=f"already ended as '{status}'"):
        services.experiments.end(exp_id, other)


@pytest.mark.parametrize("status", ["running", "paused", ""])
def test_end_refuses_non_terminal_statuses(sqlite_services: Services, status: str) -> None:
    exp_id = _create(sqlite_services)
    with pytest.raises(InvalidInput, match="finished, failed, killed"):
        sqlite_services.experiments.end(exp_id, status)


def test_an_end_event_records_before_and_after(services: Services) -> None:
    exp_id = _create(services)
    services.experiments.end(exp_id, "failed", error="CUDA out of memory")
    event = services.audit.events(limit=1000)[-1]
    assert (event.action, event.object_id) == ("experiment.end", exp_id)
    assert event.before == {"status": "running"}
    assert event.after["status"] == "failed"
    assert event.after["error"] == "CUDA out of memory"


# --- permissions -----------------------------------------------------------------------------


def test_a_user_without_a_role_can_neither_read_nor_write(
    services: Services, store: SqlStore
) -> None:
    exp_id = _create(services)
    bob = Services.for_user(store, "bob")
    with pytest.raises(PermissionDenied, match="'read'") as info:
        bob.experiments.get(exp_id)
    assert info.value.status == 403
    with pytest.raises(PermissionDenied):
        bob.experiments.set_tags(exp_id, {"x": "y"})
    assert bob.experiments.list() == []
    assert services.experiments.get(exp_id).tags == {}
