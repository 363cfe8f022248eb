"""``python -m mled.demo``: a small real sweep lands in the store; ``--if-empty`` is honoured."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import mled
from mled import demo

EPOCHS = 3


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Isolate the module-level SDK the demo uses from the real ~/.mled and from pytest."""
    monkeypatch.setenv("MLED_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLED_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLED_USER", "alice")
    monkeypatch.setenv("MLED_HANDLE_SIGNALS", "0")
    monkeypatch.setenv("MLED_CAPTURE_GIT_DIFF", "0")
    mled.set_tracking_uri(None)
    yield
    mled.set_tracking_uri(None)  # closes the demo's client and its connections


def run(store_uri: str, *extra: str) -> int:
    return demo.main(["--store", store_uri, "--experiments", "2", "--epochs", str(EPOCHS), *extra])


@pytest.mark.usefixtures("demo_env")
def test_demo_logs_a_real_sweep(store_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(store_uri) == 0
    assert "Logged 3 experiments" in capsys.readouterr().out

    exps = mled.list_experiments(demo.PROJECT)
    assert sorted(e.name for e in exps) == sorted(
        ["knn-baseline", *(t.name for t in demo.sweep_grid()[:2])]
    )
    assert {e.tags["model.family"] for e in exps} == {"knn", "mlp", "sgd"}
    assert all(e.status == "finished" and e.group == demo.SWEEP for e in exps)

    trials = [e for e in exps if e.tags.get("role") != "baseline"]
    for exp in trials:
        assert exp.params["epochs"] == EPOCHS
        assert exp.params["dataset"] == "sklearn.datasets.load_digits"
        assert (exp.seeds or {}).get("seed") == demo.DEFAULT_SEED
        assert exp.command is not None
        assert exp.environment is not None
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            history = mled.get_metric_history(exp.id, key)
            assert history.steps == list(range(EPOCHS))
            assert all(math.isfinite(v) for v in history.values)
        for key in ("test_accuracy", "test_f1_macro"):
            assert len(mled.get_metric_history(exp.id, key)) == 1
            assert 0.5 < exp.metrics[key] <= 1.0  # a real model learns the digits
    assert sum("sweep.best" in e.tags for e in exps) == 1

    (baseline,) = (e for e in exps if e.tags.get("role") == "baseline")
    assert baseline.metrics["test_accuracy"] > 0.9  # 3-NN on standardized digits
    assert baseline.seeds == {"seed": demo.DEFAULT_SEED}
    assert mled.verify_audit().ok


@pytest.mark.usefixtures("demo_env")
def test_if_empty_leaves_a_filled_store_alone(
    store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(store_uri, "--if-empty") == 0
    first = {e.id for e in mled.list_experiments()}
    capsys.readouterr()

    assert run(store_uri, "--if-empty") == 0
    assert "already has experiments" in capsys.readouterr().out
    assert {e.id for e in mled.list_experiments()} == first


def test_sweep_grid_is_a_dozen_distinct_trials_covering_both_families() -> None:
    grid = demo.sweep_grid()
    assert len(grid) == 12
    assert len({t.name for t in grid}) == 12
    assert {t.family for t in grid[:2]} == {"mlp", "sgd"}


@pytest.mark.parametrize("bad", ["0", "-3", "many"])
def test_bad_experiment_counts_are_refused(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--experiments", bad])
    assert exit_info.value.code == 2
    assert "--experiments" in capsys.readouterr().err
