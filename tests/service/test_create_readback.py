"""``ExperimentService.create`` returns exactly what a later ``get`` returns.

``create`` builds the experiment it returns from the values it just wrote instead of reading
them back; these tests compare the two on every backend, for live and already-run experiments
with params of every type, NaN and infinite metric values, tags, links and capture records.
Values with NaN are compared through their ``repr`` (NaN equals nothing, itself included),
which also tells ``1`` from ``1.0`` and ``True``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mled.entities import Experiment, NewExperiment
from mled.ids import new_id
from mled.service import Services
from mled.store.sql.store import SqlStore
from statement_count import counted_statements

EVERY_PARAM_TYPE: dict[str, Any] = {
    "str": "adam",
    "numeric_str": "1e-3",
    "empty_str": "",
    "unicode": "héllo wörld ✓ 日本",
    "int": 42,
    "negative_int": -7,
    "huge_int": 2**200,
    "float": 0.1,
    "float_integral": 3.0,
    "tiny_float": 5e-324,
    "nan": math.nan,
    "inf": math.inf,
    "minus_inf": -math.inf,
    "bool_true": True,
    "bool_false": False,
    "list": [1, 2.5, "x", None, True],
    "dict": {"b": [1, {"c": None}], "a": 1.5},
    "empty_list": [],
    "numpy_int": np.int64(3),
    "numpy_float": np.float32(0.25),
    "numpy_array": np.array([1, 2]),
    "long_text": "x" * 5_000,
}

CAPTURE: dict[str, Any] = {
    "source": {"commit": "a" * 40, "branch": "main", "dirty": True, "files": ["a.py"]},
    "command": {"argv": ["train.py", "--lr", "0.1"], "entry_point": "train.py"},
    "environment": {
        "python": "3.11.7",
        "packages": {"numpy": "1.26", "torch": "2.2"},
        "gpus": [],
        "weird": {1: float("nan"), "inf": float("inf"), "t": (1, 2)},
    },
    "seeds": {"python": 1, "numpy": 2, "nan": float("nan")},
}


def _same(created: Experiment, fetched: Experiment) -> None:
    assert repr(created) == repr(fetched)
    assert type(created) is type(fetched)
    for name in Experiment.__slots__:
        a, b = getattr(created, name), getattr(fetched, name)
        assert type(a) is type(b), name
        assert repr(a) == repr(b), name


def _create_and_get(services: Services, spec: NewExperiment) -> Experiment:
    created = services.experiments.create(spec)
    _same(created, services.experiments.get(created.id))
    return created


def test_a_live_experiment_with_everything(services: Services) -> None:
    parent = services.experiments.create(NewExperiment(project="vision", name="parent"))
    original = services.experiments.create(NewExperiment(project="vision", name="original"))
    created = _create_and_get(
        services,
        NewExperiment(
            project="vision",
            name="child run",
            params=EVERY_PARAM_TYPE,
            tags={"team": "cv", "epochs": 3, "flag": True, "ratio": 0.5, "empty": ""},
            group="sweep-1",
            parent_id=parent.id[:-3],
            reproduction_of=original.id.upper(),
            notes="first try\nwith two lines",
            metrics={
                "loss": ([0, 1, 2], [1.0, 2.0, 3.0], [0.5, 0.25, math.nan]),
                "acc": ([5], [7.5], [0.9]),
                "all_nan": ([0, 1], [1.0, 1.0], [math.nan, math.nan]),
                "inf": ([3, 1], [1.0, 2.0], [math.inf, -math.inf]),
                "a/b.c": ([-2], [0.0], [-0.0]),
            },
            **CAPTURE,
        ),
    )
    assert created.status == "running"
    assert created.parent_id == parent.id
    assert created.reproduction_of == original.id
    assert created.ended_at is None
    assert math.isnan(created.metrics["loss"])
    assert created.metric_summaries["all_nan"].min is None
    assert created.environment is not None
    assert created.environment["weird"] == {"1": "NaN", "inf": "Infinity", "t": [1, 2]}


def test_an_experiment_that_already_ran(services: Services) -> None:
    created = _create_and_get(
        services,
        NewExperiment(
            project="vision",
            name="done",
            status="finished",
            started_at=1_700_000_000,  # an int: stored (and read back) as a double
            ended_at=1_700_000_060.123456789,
            params={"lr": 0.001, "layers": [64, 64]},
            tags={"k": "v"},
            metrics={"m": ([0], [1_700_000_060.5], [1.5])},
        ),
    )
    assert created.started_at is not None
    assert created.started_at.timestamp() == 1_700_000_000
    assert created.duration is not None


def test_terminal_statuses_without_times_and_an_empty_experiment(services: Services) -> None:
    for status in ("running", "finished", "failed", "killed"):
        _create_and_get(services, NewExperiment(project="vision", name=status, status=status))


def test_text_given_as_a_str_subclass_comes_back_as_str(services: Services) -> None:
    created = _create_and_get(
        services,
        NewExperiment(
            project=np.str_("numpy-project"),
            name=np.str_("numpy name"),
            status=np.str_("finished"),
            group=np.str_("g"),
            notes=np.str_("n"),
            params={"p": np.str_("v")},
            tags={np.str_("t"): np.str_("v")},
        ),
    )
    assert type(created.name) is str
    assert type(created.project) is str


def test_a_project_created_on_first_use(services: Services) -> None:
    created = _create_and_get(services, NewExperiment(project="brand-new", name="x"))
    assert created.project == "brand-new"


def test_a_member_who_is_not_an_admin(services: Services, store: SqlStore) -> None:
    services.projects.create("vision")
    Services.for_user(store, "bob")
    services.users.set_role("vision", "bob", "data_scientist")
    bob = Services.for_user(store, "bob")
    created = _create_and_get(bob, NewExperiment(project="vision", name="b", params={"x": 1}))
    assert created.owner == "bob"


def test_a_replayed_creation_returns_the_stored_experiment(services: Services) -> None:
    spec = NewExperiment(project="vision", name="r", id=new_id(), params={"p": math.nan}, **CAPTURE)
    first = _create_and_get(services, spec)
    _same(services.experiments.create(spec), first)


def test_creating_one_experiment_runs_few_statements(services: Services, store: SqlStore) -> None:
    """Lock the audit head, find the project and the oldest staged experiment, stage this
    one, the audit event and the head: the experiment returned is built without reading it
    back. On PostgreSQL the writes go in two pipelines, so the client waits only for the
    three reads' answers (and two pipeline ends) instead of a round trip per statement."""
    services.projects.create("vision")
    spec = NewExperiment(
        project="vision",
        name="n",
        params={"a": 1},
        tags={"t": "v"},
        metrics={"m": ([0], [1.0], [0.5])},
    )
    with counted_statements(store) as statements:
        services.experiments.create(spec)
    selects = 3  # the audit head, the project, the oldest staged experiment
    writes = 1 + 2  # the staged experiment (mled.service.staging); audit event, head
    begin = 1 if store.dialect == "sqlite" else 0  # BEGIN IMMEDIATE is a statement there
    assert len(statements) == begin + selects + writes, statements
    assert statements.count("SELECT") == selects
    if store.dialect == "postgresql":
        assert statements.waited == ["SELECT"] * selects, statements.waited


_chars = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
"""Text MLED stores (NUL and lone surrogates are refused, see tests of validation)."""


def _nested(floats: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    leaf = st.none() | st.booleans() | st.integers() | floats | st.text(_chars, max_size=8)
    return st.recursive(
        leaf,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(_chars, max_size=5), inner)
        ),
        max_leaves=6,
    )


_param = st.floats() | _nested(st.floats(allow_nan=False, allow_infinity=False))  # JSON: finite
_record = _nested(st.floats())  # seeds and capture records turn NaN and inf into strings
_key = st.from_regex(r"[A-Za-z][A-Za-z0-9_.]{0,8}", fullmatch=True)
_text = st.text(_chars, max_size=20)
_series = st.lists(
    st.tuples(st.integers(-(2**40), 2**40), st.floats(allow_nan=True)), min_size=1, max_size=4
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(_key, _param | _text, max_size=6),
    tags=st.dictionaries(_key, _text, max_size=4),
    metrics=st.dictionaries(_key, _series, max_size=3),
    notes=_text,
    seeds=st.none() | st.dictionaries(st.text(_chars, max_size=4), _record, max_size=3),
    times=st.none() | st.tuples(st.floats(0, 4e9), st.floats(0, 1e6)),
)
def test_any_values_read_back_alike(
    services: Services,
    params: dict[str, Any],
    tags: dict[str, str],
    metrics: dict[str, list[tuple[int, float]]],
    notes: str,
    seeds: dict[str, Any] | None,
    times: tuple[float, float] | None,
) -> None:
    series = {
        k: ([s for s, _ in points], [1.0] * len(points), [v for _, v in points])
        for k, points in metrics.items()
    }
    started, ended = (None, None) if times is None else (times[0], times[0] + times[1])
    _create_and_get(
        services,
        NewExperiment(
            project="vision",
            name="prop",
            status="running" if times is None else "finished",
            params=params,
            tags=tags,
            metrics=series,
            notes=notes,
            seeds=seeds,
            started_at=started,
            ended_at=ended,
        ),
    )
