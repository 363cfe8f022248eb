"""``mled experiments search`` and ``mled compare``: formats, columns, sorting, errors."""

from __future__ import annotations

import csv
import io
import json

from mled_runner import Mled

from mled.sdk.client import Client


def log_runs(client: Client) -> list[str]:
    ids = []
    for i, (lr, opt, acc, loss) in enumerate(
        [(0.1, "adam", 0.7, 0.5), (0.01, "adam", 0.8, 0.4), (0.001, "sgd", 0.9, 0.3)]
    ):
        exp = client.log_experiment(
            "vision",
            f"resnet-{i}",
            params={"lr": lr, "opt": opt, "bs": 32},
            metrics={"acc": [0.5, acc], "val/loss": [1.0, loss]},
            tags={"team": "cv [bold]"},
        )
        ids.append(exp.id)
    return ids


def test_search_table(mled: Mled, seeded: Client) -> None:
    ids = log_runs(seeded)
    result = mled("experiments", "search", "metrics.acc > 0.75", "--sort", "metrics.acc desc")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "project"]
    assert [line.split()[1] for line in lines[2:]] == ["resnet-2", "resnet-1"]
    assert ids[0][:13] not in result.stdout
    empty = mled("experiments", "search", "metrics.acc > 5")
    assert empty.exit_code == 0
    assert "no experiments match" in empty.stdout


def test_search_columns_csv_and_json(mled: Mled, seeded: Client) -> None:
    log_runs(seeded)
    columns = "name,params.lr,metrics.acc,tags.team,params.missing"
    result = mled(
        "experiments", "search", "params.opt = 'adam'", "--columns", columns, "--format", "csv"
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows == [
        columns.split(","),
        ["resnet-1", "0.01", "0.8", "cv [bold]", ""],
        ["resnet-0", "0.1", "0.7", "cv [bold]", ""],
    ]
    as_json = mled("experiments", "search", "", "-c", "name,metrics.val/loss", "-f", "json")
    assert json.loads(as_json.stdout) == [
        {"name": "resnet-2", "metrics.val/loss": 0.3},
        {"name": "resnet-1", "metrics.val/loss": 0.4},
        {"name": "resnet-0", "metrics.val/loss": 0.5},
    ]
    full = json.loads(mled("experiments", "search", "--json", "--limit", "1").stdout)
    assert len(full) == 1
    assert full[0]["params"] == {"bs": 32, "lr": 0.001, "opt": "sgd"}
    every = list(csv.reader(io.StringIO(mled("experiments", "search", "-f", "csv").stdout)))
    assert every[0][:3] == ["id", "name", "project"]
    assert {"params.lr", "metrics.acc", "tags.team"} <= set(every[0])
    assert len(every) == 4


def test_search_table_with_columns_prints_markup_literally(mled: Mled, seeded: Client) -> None:
    log_runs(seeded)
    result = mled("experiments", "search", "", "-c", "id,name,tags.team,metrics.acc", "-n", "2")
    assert result.exit_code == 0, result.output
    assert "cv [bold]" in result.stdout
    assert len(result.stdout.splitlines()) == 4


def test_bad_query_shows_a_caret_on_stderr(mled: Mled, seeded: Client) -> None:
    log_runs(seeded)
    result = mled("experiments", "search", "metrics.acc > ")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error[query_syntax_error]: ")
    lines = result.stderr.splitlines()
    assert lines[1] == "  metrics.acc > "
    assert lines[2] == "                ^"
    unknown = mled("experiments", "search", "metric.acc > 1")
    assert unknown.exit_code == 2
    assert "did you mean `metrics.acc`" in unknown.stderr


def test_compare_table(mled: Mled, seeded: Client) -> None:
    ids = log_runs(seeded)
    result = mled("compare", *ids)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "params (differing)" in out
    assert "  bs " not in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert rows["lr"] == ["0.1", "0.01", "0.001"]
    assert rows["acc"] == ["↑", "0.7", "0.8", "0.9", "*"]
    assert rows["val/loss"] == ["↓", "0.5", "0.4", "0.3", "*"]
    everything = mled("compare", *ids, "--all")
    assert "  bs " in everything.stdout


def test_compare_json(mled: Mled, seeded: Client) -> None:
    ids = log_runs(seeded)
    result = mled("compare", ids[0], ids[2][:20], "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [e["id"] for e in data["experiments"]] == [ids[0], ids[2]]
    assert [p["key"] for p in data["params"]] == ["lr", "opt"]
    loss = {m["key"]: m for m in data["metrics"]}["val/loss"]
    assert loss["direction"] == "min"
    assert loss["best"] == ids[2]
    assert loss["best_value"] == 0.3
    assert loss["summaries"][ids[0]] == {"last": 0.5, "min": 0.5, "max": 1.0, "count": 2}
    everything = json.loads(mled("compare", *ids, "--all", "--json").stdout)
    assert [p["key"] for p in everything["params"]] == ["bs", "lr", "opt"]


def test_compare_unknown_id(mled: Mled, seeded: Client) -> None:
    ids = log_runs(seeded)
    result = mled("compare", ids[0], "ffffffff")
    assert result.exit_code == 1
    assert result.stderr.startswith("error[experiment_not_found]")
