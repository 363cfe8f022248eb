"""``mled experiments import``: JSON Lines files of experiments that already ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mled_runner import Mled

from mled.ids import new_id
from mled.sdk.client import Client

LINES = [
    {
        "name": "a",
        "params": {"lr": 0.1, "layers": [2, 3]},
        "metrics": {"acc": 0.91, "loss": [[0, 0.8], [5, 0.4]]},
        "tags": {"team": "cv"},
        "started_at": "2026-01-31T14:05:00Z",
        "ended_at": 1_769_871_900,
    },
    {"name": "b", "project": "nlp", "status": "failed", "metrics": {"ppl": [12.5, 9.0]}},
]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_line_is_stored_and_the_ids_come_back_in_order(
    mled: Mled, seeded: Client, tmp_path: Path
) -> None:
    seeded.create_project("vision")
    seeded.create_project("nlp")
    path = _write(tmp_path, [json.dumps(LINES[0]), "", json.dumps(LINES[1])])
    result = mled("experiments", "import", str(path), "--project", "vision", "--json")
    assert result.exit_code == 0, result.output
    a, b = (seeded.get_experiment(i) for i in json.loads(result.stdout)["ids"])
    assert (a.project, a.name, a.status, a.duration) == ("vision", "a", "finished", 3_600)
    assert a.params == {"lr": 0.1, "layers": [2, 3]}
    assert (a.metrics, a.tags) == ({"acc": 0.91, "loss": 0.4}, {"team": "cv"})
    assert [p.step for p in seeded.get_metric_history(a.id, "loss")] == [0, 5]
    assert (b.project, b.status, b.metrics) == ("nlp", "failed", {"ppl": 9.0})
    assert mled("experiments", "import", str(path), "-p", "vision").stdout == (
        "imported 2 experiments\n"
    )  # no ids in the file: a second import stores them again


def test_lines_with_ids_are_stored_once_however_often_imported(mled: Mled, seeded: Client) -> None:
    lines = "".join(json.dumps({"id": new_id(), "name": f"r{i}"}) + "\n" for i in range(3))
    for _ in range(2):
        result = mled("experiments", "import", "-", input=lines)
        assert result.exit_code == 0, result.output
    assert len(seeded.list_experiments()) == 3


@pytest.mark.parametrize(
    ("lines", "code", "fragment"),
    [
        (['{"name": "a"}', '{"name": "b"'], "invalid_input", "line 2: not JSON"),
        (['{"name": "a"}', "[1, 2]"], "invalid_input", "line 2: expected a JSON object"),
        (['{"name": "a"}', "", '{"parms": {}}'], "invalid_input", "line 3: unknown"),
        (
            ['{"name": "a"}', '{"metrics": {"loss": "x"}}'],
            "invalid_metric_value",
            "line 2: metric 'loss'",
        ),
        (['{"status": "paused"}'], "invalid_input", "line 1: status"),
        (["", "  "], "invalid_input", "the file holds no experiments"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_stored(
    mled: Mled, seeded: Client, tmp_path: Path, lines: list[str], code: str, fragment: str
) -> None:
    result = mled("experiments", "import", str(_write(tmp_path, lines)))
    assert result.exit_code == 2, result.output  # invalid input
    assert result.stderr.startswith(f"error[{code}]: "), result.stderr
    assert fragment in result.stderr
    assert "hint: " in result.stderr
    assert seeded.list_experiments() == []


def test_a_missing_file_is_a_clear_error(mled: Mled, tmp_path: Path) -> None:
    result = mled("experiments", "import", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert "nope.jsonl: no such file" in result.stderr
