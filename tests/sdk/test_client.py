"""The SDK Client on both backends: live experiments, statuses, log_experiment, reads, errors."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from mled.entities import same_metric_value
from mled.errors import (
    AmbiguousId,
    ExperimentNotActive,
    ExperimentNotFound,
    InvalidInput,
    InvalidKey,
    InvalidMetricValue,
    MetricNotFound,
    ParamConflict,
)
from mled.ids import new_id
from mled.sdk.client import Client
from mled.sdk.live import LiveExperiment
from mled.settings import Settings
from mled.wire import MAX_IMPORT


def _start(client: Client, **fields: Any) -> LiveExperiment:
    return client.start_experiment(
        fields.pop("project", "vision"), fields.pop("name", "run"), capture=False, **fields
    )


def test_log_and_read_back(client: Client) -> None:
    with _start(client, params={"lr": 0.1}, tags={"team": "cv"}) as exp:
        exp.log_param("optimizer", "adam")
        exp.set_tag("stage", "dev")
        exp.log_metrics({"loss": 0.5, "acc": 0.6}, step=0)
        exp.log_metric("loss", 0.25, step=1)
    got = client.get_experiment(exp.id)
    assert got.status == "finished"
    assert got.params == {"lr": 0.1, "optimizer": "adam"}
    assert got.tags == {"team": "cv", "stage": "dev"}
    assert got.metrics == {"loss": 0.25, "acc": 0.6}
    assert [p.value for p in client.get_metric_history(exp.id, "loss")] == [0.5, 0.25]
    assert client.verify_audit().ok


def test_start_captures_the_run_context_when_asked(client: Client) -> None:
    with client.start_experiment("vision", "captured") as exp:
        pass
    got = client.get_experiment(exp.id)
    assert got.environment is not None
    assert got.command is not None


def test_flush_makes_points_visible_to_another_client(client: Client, settings: Settings) -> None:
    with _start(client) as exp:
        for step in range(100):
            exp.log_metric("loss", 1 / (step + 1), step=step)
        other = Client(settings=settings)
        try:
            with pytest.raises(MetricNotFound):
                other.get_metric_history(exp.id, "loss")
            exp.flush()
            assert len(other.get_metric_history(exp.id, "loss")) == 100
            assert other.get_experiment(exp.id).status == "running"
        finally:
            other.close()


def test_refresh_flushes_and_returns_the_stored_state(client: Client) -> None:
    with _start(client) as exp:
        exp.log_metric("loss", 0.3)
        assert exp.refresh().metrics == {"loss": 0.3}


def test_metric_steps_default_to_the_next_step_per_key(client: Client) -> None:
    with _start(client) as exp:
        for value in (0.9, 0.8, 0.7):
            exp.log_metric("loss", value)
        exp.log_metric("acc", 0.1)
    assert client.get_metric_history(exp.id, "loss").steps == [0, 1, 2]
    assert client.get_metric_history(exp.id, "acc").steps == [0]


@pytest.mark.parametrize("special", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_infinities_round_trip_through_the_sdk(client: Client, special: float) -> None:
    with _start(client) as exp:
        exp.log_metric("loss", 1.0, step=0)
        exp.log_metric("loss", special, step=1)
        exp.log_metric("loss", np.float32(special), step=2)  # type: ignore[arg-type]
    history = client.get_metric_history(exp.id, "loss")
    expected = [1.0, special, special]
    assert all(same_metric_value(a, b) for a, b in zip(history.values, expected, strict=True))
    assert same_metric_value(client.get_experiment(exp.id).metrics["loss"], special)


def test_several_values_at_one_step_and_unsorted_steps(client: Client) -> None:
    with _start(client) as exp:
        exp.log_metric("loss", 0.3, step=2, timestamp=103.0)
        exp.log_metric("loss", 0.1, step=2, timestamp=101.0)
        exp.flush()
        exp.log_metric("loss", 0.9, step=0, timestamp=200.0)
        exp.log_metric("loss", 0.2, step=2, timestamp=102.0)
    history = client.get_metric_history(exp.id, "loss")
    assert [(p.step, p.timestamp, p.value) for p in history] == [
        (0, 200.0, 0.9),
        (2, 101.0, 0.1),
        (2, 102.0, 0.2),
        (2, 103.0, 0.3),
    ]


def test_history_can_be_downsampled(client: Client) -> None:
    with _start(client) as exp:
        for step in range(1_000):
            exp.log_metric("loss", math.cos(step / 30), step=step)
    small = client.get_metric_history(exp.id, "loss", max_points=40)
    assert len(small) == 40
    assert (small.steps[0], small.steps[-1]) == (0, 999)


# --- statuses ------------------------------------------------------------------------------


def _train(exp: LiveExperiment, error: BaseException) -> None:
    with exp:
        exp.log_metric("loss", 1.0, step=0)
        raise error


@pytest.mark.parametrize(
    ("error", "status", "text"),
    [
        (ValueError("loss diverged at step 7"), "failed", "ValueError: loss diverged at step 7"),
        (KeyboardInterrupt(), "killed", "KeyboardInterrupt"),
        (SystemExit(2), "failed", "SystemExit: 2"),
        (SystemExit(0), "finished", None),
    ],
    ids=["exception", "keyboard-interrupt", "exit-2", "exit-0"],
)
def test_an_exception_inside_with_sets_the_status(
    client: Client, error: BaseException, status: str, text: str | None
) -> None:
    exp = _start(client)
    with pytest.raises(type(error)):
        _train(exp, error)
    got = client.get_experiment(exp.id)
    assert got.status == status
    if text is None:
        assert got.error is None
    else:
        assert got.error is not None
        assert text in got.error
    assert got.metrics == {"loss": 1.0}  # buffered points are flushed on the way out


def test_end_is_idempotent_and_refuses_later_logging(client: Client) -> None:
    exp = _start(client)
    exp.end("killed")
    exp.end("finished")  # already ended: ignored
    assert exp.ended
    assert client.get_experiment(exp.id).status == "killed"
    with pytest.raises(ExperimentNotActive):
        exp.log_metric("loss", 1.0)
    with pytest.raises(ExperimentNotActive):
        exp.log_metrics({"loss": 1.0}, step=3)
    with pytest.raises(ExperimentNotActive):
        exp.log_param("lr", 0.1)


# --- bad input through the SDK -------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", None, object()])
def test_a_non_numeric_metric_is_refused_at_once(sqlite_client: Client, bad: object) -> None:
    with _start(sqlite_client) as exp:
        with pytest.raises(InvalidMetricValue) as info:
            exp.log_metric("loss", bad)  # type: ignore[arg-type]
        assert "'loss'" in info.value.message
        assert "Log metrics as int or float" in info.value.hint
    assert sqlite_client.get_experiment(exp.id).metrics == {}


@pytest.mark.parametrize(("key", "fragment"), [("k" * 251, "251 characters"), ("", "empty")])
def test_an_invalid_metric_key_is_refused_at_once(
    sqlite_client: Client, key: str, fragment: str
) -> None:
    with _start(sqlite_client) as exp, pytest.raises(InvalidKey, match=fragment) as info:
        exp.log_metric(key, 1.0)
    assert (info.value.code, info.value.status) == ("invalid_key", 400)
    assert "1-250 characters" in info.value.hint


def test_param_conflict_through_the_sdk(client: Client) -> None:
    with _start(client, params={"lr": 0.1}) as exp:
        exp.log_param("lr", 0.1)  # same value: fine
        with pytest.raises(ParamConflict) as info:
            exp.log_param("lr", 0.01)
    message = info.value.message
    for fragment in ("'lr'", "0.1", "0.01"):
        assert fragment in message
    assert "immutable" in info.value.hint
    assert client.get_experiment(exp.id).params == {"lr": 0.1}


def test_ambiguous_and_unknown_ids_through_the_sdk(client: Client) -> None:
    ids = [client.log_experiment("vision", f"r{i}").id for i in range(2)]
    with pytest.raises(AmbiguousId) as info:
        client.get_experiment(ids[0][:3])
    assert all(i in info.value.message for i in ids)
    with pytest.raises(ExperimentNotFound, match="'zzz'"):
        client.get_experiment("zzz")


# --- log_experiment --------------------------------------------------------------------------


def test_log_experiment_records_a_finished_run(client: Client) -> None:
    exp = client.log_experiment(
        "vision",
        "offline",
        params={"lr": 0.1, "layers": [2, 3]},
        tags={"source": "notebook"},
        metrics={
            "final_acc": 0.93,
            "loss": [0.9, 0.5, 0.3],
            "val_loss": [(0, 0.95), (5, 0.6), (10, 0.4)],
            "lr": [(0, 0.1, 1_000.0), (1, 0.05, 1_001.0)],
        },
        started_at="2026-01-31T14:05:00Z",
        ended_at=datetime(2026, 1, 31, 15, 5, tzinfo=UTC),
    )
    assert exp.status == "finished"
    assert exp.started_at == datetime(2026, 1, 31, 14, 5, tzinfo=UTC)
    assert exp.ended_at == datetime(2026, 1, 31, 15, 5, tzinfo=UTC)
    assert exp.duration == 3_600
    assert exp.params == {"lr": 0.1, "layers": [2, 3]}
    assert exp.tags == {"source": "notebook"}
    assert exp.metrics == {"final_acc": 0.93, "loss": 0.3, "val_loss": 0.4, "lr": 0.05}
    end = exp.ended_at.timestamp()
    assert list(client.get_metric_history(exp.id, "final_acc")) == [(0, end, 0.93)]
    assert list(client.get_metric_history(exp.id, "loss")) == [
        (0, end, 0.9),
        (1, end, 0.5),
        (2, end, 0.3),
    ]
    assert client.get_metric_history(exp.id, "val_loss").steps == [0, 5, 10]
    assert list(client.get_metric_history(exp.id, "lr")) == [(0, 1_000.0, 0.1), (1, 1_001.0, 0.05)]
    assert client.get_experiment(exp.id) == exp
    assert client.verify_audit().ok


@pytest.mark.parametrize(
    ("started_at", "expected"),
    [
        ("2026-01-31", datetime(2026, 1, 31, tzinfo=UTC)),
        ("2026-01-31T14:05:00+02:00", datetime(2026, 1, 31, 12, 5, tzinfo=UTC)),
        (datetime(2026, 1, 31, 14, 5), datetime(2026, 1, 31, 14, 5, tzinfo=UTC)),
        (
            datetime(2026, 1, 31, 14, 5, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2026, 1, 31, 19, 5, tzinfo=UTC),
        ),
        (1_769_868_300.0, datetime(2026, 1, 31, 14, 5, tzinfo=UTC)),
    ],
)
def test_log_experiment_time_forms(
    sqlite_client: Client, started_at: object, expected: datetime
) -> None:
    exp = sqlite_client.log_experiment("vision", "t", started_at=started_at)
    assert exp.started_at == expected


@pytest.mark.parametrize("status", ["failed", "killed"])
def test_log_experiment_with_another_terminal_status(client: Client, status: str) -> None:
    assert client.log_experiment("vision", "t", status=status).status == status


@pytest.mark.parametrize(
    ("fields", "error", "fragment"),
    [
        ({"started_at": "yesterday"}, InvalidInput, "not an ISO 8601"),
        ({"started_at": "2026-02-01", "ended_at": "2026-01-01"}, InvalidInput, "before"),
        ({"metrics": {"loss": "abc"}}, InvalidMetricValue, "'loss'"),
        ({"metrics": {"loss": [0.1, None]}}, InvalidMetricValue, "'loss'"),
        ({"metrics": {"loss": [(0, 0.1, 5.0, 9)]}}, InvalidMetricValue, "(step, value)"),
        ({"metrics": {"loss": []}}, InvalidInput, "empty history"),
        ({"status": "paused"}, InvalidInput, "paused"),
        ({"parms": {"lr": 0.1}}, InvalidInput, "unknown field 'parms'; did you mean 'params'?"),
    ],
)
def test_log_experiment_refuses_bad_input(
    sqlite_client: Client, fields: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=re.escape(fragment)):
        sqlite_client.log_experiment("vision", "bad", **fields)
    assert sqlite_client.list_experiments() == []


def test_log_experiment_with_an_id_is_stored_once(client: Client) -> None:
    given = new_id()
    first = client.log_experiment("vision", "once", id=given, params={"lr": 0.1})
    again = client.log_experiment("vision", "once", id=given, params={"lr": 0.1})
    assert first.id == again.id == given
    assert [e.id for e in client.list_experiments()] == [given]


def test_log_experiments_stores_each_entry_like_log_experiment(client: Client) -> None:
    client.create_project("sweep")
    entries: list[dict[str, Any]] = [
        {
            "name": "a",
            "params": {"lr": 0.1, "opt": "adam"},
            "metrics": {"acc": 0.9, "loss": [(0, 0.8), (5, 0.4, 1_000.0)]},
            "tags": {"stage": "dev"},
            "started_at": "2026-01-31T14:05:00Z",
            "ended_at": "2026-01-31T15:05:00Z",
        },
        {"name": "b", "params": {"lr": 0.01}, "status": "failed", "group": "g"},
        {"project": "vision", "name": "c", "metrics": {"acc": [0.5, 0.7]}},
    ]
    ids = client.log_experiments(entries, project="sweep")
    a, b, c = (client.get_experiment(i) for i in ids)
    assert (a.project, a.name, a.status) == ("sweep", "a", "finished")
    assert a.params == {"lr": 0.1, "opt": "adam"}
    assert a.metrics == {"acc": 0.9, "loss": 0.4}
    assert a.tags == {"stage": "dev"}
    assert a.duration == 3_600
    end = a.ended_at.timestamp() if a.ended_at else math.nan
    assert list(client.get_metric_history(a.id, "loss")) == [(0, end, 0.8), (5, 1_000.0, 0.4)]
    assert (b.status, b.group, b.params) == ("failed", "g", {"lr": 0.01})
    assert (c.project, c.metrics) == ("vision", {"acc": 0.7})
    assert [p.value for p in client.get_metric_history(c.id, "acc")] == [0.5, 0.7]
    assert client.verify_audit().ok


@pytest.mark.parametrize(
    ("entry", "error", "fragment"),
    [
        ({"name": "x", "metrics": {"loss": "abc"}}, InvalidMetricValue, "experiment 1: metric"),
        ({"name": "x", "parms": {"lr": 1}}, InvalidInput, "did you mean 'params'?"),
        ({"name": "x", "status": "paused"}, InvalidInput, "experiment 1:"),
        ({"name": "x", "params": {"": 1}}, InvalidKey, "experiment 1: "),
        ({"name": "x", "started_at": "yesterday"}, InvalidInput, "experiment 1: "),
        ("not a mapping", InvalidInput, "experiment 1: expected a mapping"),
    ],
)
def test_log_experiments_checks_every_entry_before_writing_any(
    client: Client, entry: Any, error: type[Exception], fragment: str
) -> None:
    good = {"name": "good", "params": {"lr": 0.1}}
    with pytest.raises(error, match=re.escape(fragment)):
        client.log_experiments([good, entry], project="vision")
    assert client.list_experiments() == []


def test_log_experiments_again_with_the_same_ids_stores_nothing_twice(client: Client) -> None:
    client.create_project("vision")
    entries = [{"id": new_id(), "name": f"run-{i}", "params": {"i": i}} for i in range(3)]
    first = client.log_experiments(entries, project="vision")
    assert client.log_experiments(entries, project="vision") == first
    assert first == [e["id"] for e in entries]
    assert len(client.list_experiments("vision")) == 3


def test_log_experiments_beyond_one_request_or_transaction(client: Client) -> None:
    client.create_project("vision")
    n = MAX_IMPORT + 5
    ids = client.log_experiments(({"name": f"r{i}"} for i in range(n)), project="vision")
    assert len(set(ids)) == n
    found = client.search("", project="vision", limit=None)
    assert sorted(e.id for e in found) == sorted(ids)


def test_list_experiments_and_projects(client: Client) -> None:
    a = client.log_experiment("vision", "a").id
    b = client.log_experiment("nlp", "b").id
    client.create_project("empty", "nothing yet")
    assert [e.id for e in client.list_experiments()] == [b, a]
    assert [e.id for e in client.list_experiments("nlp")] == [b]
    assert [p.name for p in client.list_projects()] == ["empty", "nlp", "vision"]


def test_tracking_uri_comes_from_the_settings(settings: Settings) -> None:
    assert Client(settings=settings).tracking_uri == settings.tracking_uri
    assert Client("sqlite:////x/y.db", settings=settings).tracking_uri == "sqlite:////x/y.db"
    default = replace(settings, tracking_uri=None)
    assert Client(settings=default).tracking_uri == f"sqlite:///{settings.home / 'mled.db'}"
