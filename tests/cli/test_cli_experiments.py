"""``mled experiments list|show``: tables, JSON, ID prefixes and error reporting."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from mled_runner import Mled

from mled.cli.output import short_ids
from mled.entities import Experiment
from mled.sdk.client import Client

ENVIRONMENT = {
    "python": {"version": "3.11.7", "implementation": "CPython"},
    "packages": {"numpy": "2.0.0", "torch": "2.4.0", "pandas": "2.2.0"},
    "os": {"platform": "Linux-6.1-x86_64"},
    "hostname": "gpu-box-7",
}


def log_two(client: Client) -> tuple[Experiment, Experiment]:
    """A finished vision experiment with everything, and a failed nlp one."""
    rich = client.log_experiment(
        "vision",
        "resnet [red]50",
        params={"lr": 0.001, "optimizer": "adam"},
        metrics={"loss": [0.9, 0.4, 0.6], "acc": 0.91},
        tags={"team": "cv"},
        started_at=1_700_000_000,
        ended_at=1_700_003_725,
        source={"vcs": "git", "commit": "3f2c9e0d1a2b", "branch": "main", "dirty": True},
        command={"argv": ["train.py", "--lr", "0.001"], "cwd": "/work"},
        environment=ENVIRONMENT,
        seeds={"seed": 7, "numpy": 7},
    )
    client.create_project("nlp")
    failed = client.log_experiment("nlp", "bert", metrics={"ppl": 12.5}, status="failed")
    return rich, failed


def test_list_table(mled: Mled, seeded: Client) -> None:
    rich, failed = log_two(seeded)
    result = mled("experiments", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header[:7] == ["id", "name", "project", "status", "owner", "created", "duration"]
    assert set(header[7:]) == {"acc", "loss", "ppl"}
    assert lines[2].startswith(failed.id[:13])  # newest first
    assert lines[3].startswith(rich.id[:13])
    assert "resnet [red]50" in lines[3]  # markup in names is printed as it is
    assert "1h 02m" in lines[3]
    assert "finished" in lines[3]
    assert "failed" in lines[2]


def test_list_shows_unique_prefixes(mled: Mled, seeded: Client) -> None:
    ids = [seeded.log_experiment("vision", f"run{i}").id for i in range(20)]
    out = mled("experiments", "list", "--limit", "50").stdout
    shown = [line.split()[0] for line in out.splitlines()[2:]]
    assert len(shown) == 20
    assert all(len(prefix) >= 13 for prefix in shown)
    for prefix in shown:
        assert [i for i in ids if i.startswith(prefix)] != []
        assert len([i for i in ids if i.startswith(prefix)]) == 1


def test_list_filters_limits_and_picks_metrics(mled: Mled, seeded: Client) -> None:
    rich, _ = log_two(seeded)
    result = mled("experiments", "list", "--project", "vision", "-n", "1", "--metric", "loss")
    lines = result.stdout.splitlines()
    assert lines[0].split()[-1] == "loss"
    assert len(lines) == 3
    assert rich.id[:13] in lines[2]
    assert lines[2].split()[-1] == "0.6"


def test_list_json_has_full_ids(mled: Mled, seeded: Client) -> None:
    rich, failed = log_two(seeded)
    rows = json.loads(mled("experiments", "list", "--json").stdout)
    assert [r["id"] for r in rows] == [failed.id, rich.id]
    first = rows[1]
    assert first["params"] == {"lr": 0.001, "optimizer": "adam"}
    assert first["metrics"] == {"loss": 0.6, "acc": 0.91}
    assert first["tags"] == {"team": "cv"}
    assert first["duration"] == 3725.0
    assert datetime.fromisoformat(first["started_at"]).timestamp() == 1_700_000_000


def test_list_empty_and_unknown_project(mled: Mled) -> None:
    assert "no experiments" in mled("experiments", "list").stdout
    result = mled("experiments", "list", "--project", "nope")
    assert result.exit_code == 1
    assert result.stderr.startswith("error[project_not_found]: project 'nope' does not exist")
    assert "hint: " in result.stderr


def test_show_by_unique_prefix(mled: Mled, seeded: Client) -> None:
    rich, failed = log_two(seeded)
    prefix = short_ids([rich.id, failed.id])[rich.id]
    result = mled("experiments", "show", prefix)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert rich.id in out
    for expected in ("resnet [red]50", "optimizer", "adam", "team", "cv", "finished"):
        assert expected in out
    loss = next(line.split() for line in out.splitlines() if line.startswith("loss"))
    assert loss == ["loss", "0.6", "0.4", "0.9", "3", "2"]  # last, min, max, count, last step
    assert "3f2c9e0d1a2b (uncommitted changes)" in out
    assert "train.py --lr 0.001" in out
    assert "3.11.7 (CPython)" in out
    assert "Linux-6.1-x86_64" in out
    assert "3 installed" in out
    assert "seed" in out


def test_show_failed_experiment_shows_its_error(mled: Mled, seeded: Client) -> None:
    with pytest.raises(ZeroDivisionError):
        with seeded.start_experiment("vision", "crash", capture=False):
            _ = 1 / 0
    exp = seeded.list_experiments()[0]
    out = mled("experiments", "show", exp.id).stdout
    assert "failed" in out
    assert "ZeroDivisionError" in out


def test_show_json(mled: Mled, seeded: Client) -> None:
    rich, _ = log_two(seeded)
    body = json.loads(mled("experiments", "show", rich.id[:18], "--json").stdout)
    assert body["id"] == rich.id
    assert body["metric_summaries"]["loss"]["min"] == 0.4
    assert body["metric_summaries"]["loss"]["count"] == 3
    assert body["environment"]["packages"]["torch"] == "2.4.0"
    assert body["seeds"] == {"seed": 7, "numpy": 7}
    assert body["duration"] == 3725.0


def test_json_is_strict_even_for_nan(mled: Mled, seeded: Client) -> None:
    exp = seeded.log_experiment("vision", "nan", metrics={"loss": float("nan")})
    text = mled("experiments", "show", exp.id, "--json").stdout
    body = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert body["metrics"]["loss"] == "NaN"


def test_ambiguous_prefix_names_candidates_once(mled: Mled, seeded: Client) -> None:
    a = seeded.log_experiment("vision", "a").id
    b = seeded.log_experiment("vision", "b").id
    common = a[: next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)]
    assert common, "two UUIDv7 made a millisecond apart share a prefix"
    result = mled("experiments", "show", common)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error[ambiguous_id]: ")
    assert result.stderr.count(a) == 1  # the message names them; no second list
    assert result.stderr.count(b) == 1
    assert result.stderr.splitlines()[-1].startswith("hint: ")
    assert "Traceback" not in result.stderr
    # one more character is unique again
    unique = a[: len(common) + 1]
    assert mled("experiments", "show", unique, "--json").exit_code == 0


def test_unknown_id_is_one_error_line_and_a_hint(mled: Mled) -> None:
    result = mled("experiments", "show", "ffffffff")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error[experiment_not_found]: no experiment has an ID starting with 'ffffffff'",
        "hint: List experiments with `mled experiments list` and copy an ID or a prefix of one.",
    ]


def test_debug_shows_the_traceback(mled: Mled) -> None:
    for args in (
        ("--debug", "experiments", "show", "ffff"),
        ("experiments", "show", "ffff", "--debug"),
    ):
        result = mled(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith("Traceback (most recent call last):")
        assert "ExperimentNotFound" in result.stderr
        assert "error[experiment_not_found]" in result.stderr


def test_unexpected_error_is_one_line_suggesting_debug(
    mled: Mled, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Client, id_or_prefix: str) -> Experiment:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(Client, "get_experiment", broken)
    result = mled("experiments", "show", "0190")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error[unexpected]: RuntimeError: disk on fire second line"
    assert "--debug" in lines[1]
    assert len(lines) == 2

    debug = mled("experiments", "show", "0190", "--debug")
    assert "Traceback (most recent call last):" in debug.stderr
    assert "RuntimeError: disk on fire" in debug.stderr
