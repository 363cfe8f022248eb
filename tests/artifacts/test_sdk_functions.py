"""The module-level SDK functions of artifacts, datasets, models and lineage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from assets_support import write_tree

import mled


@pytest.fixture
def default_store(
    sqlite_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The module-level SDK on a fresh SQLite store, artifacts under MLED_HOME."""
    home = tmp_path / "home"
    monkeypatch.setenv("MLED_HOME", str(home))
    monkeypatch.setenv("MLED_USER", "alice")
    monkeypatch.setenv("MLED_HANDLE_SIGNALS", "0")
    monkeypatch.delenv("MLED_ARTIFACTS_URI", raising=False)
    mled.set_tracking_uri(sqlite_uri)
    yield home
    mled.set_tracking_uri(None)


def test_logging_to_the_active_experiment_and_reading_back(
    default_store: Path, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "out", {"a.csv": b"1\n", "b/c.csv": b"2\n"})
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 100)
    with mled.start_experiment(project="vision", capture=False) as exp:
        mled.log_text("hello", "notes.txt")
        mled.log_artifact(weights)
        mled.log_artifacts(folder, prefix="out")
        path = mled.log_model(weights, "tiny")
        version = mled.log_dataset(folder, "tabular", role="test", store=True)
    assert path == "models/tiny"
    assert version.ref == "tabular:1"
    assert [a.path for a in mled.list_artifacts(exp.id)] == [
        "models/tiny/weights.bin",
        "notes.txt",
        "out/a.csv",
        "out/b/c.csv",
        "weights.bin",
    ]
    assert mled.register_model(exp.id, path, "tiny").version == 1
    tree = mled.lineage("tiny")
    assert [c.kind for c in tree.children] == ["experiment"]
    assert [c.ref for c in tree.children[0].children] == ["tabular:1"]
    local = mled.download_artifacts(exp.id, "out", tmp_path / "copy")
    assert (local / "b" / "c.csv").read_bytes() == b"2\n"
    assert (default_store / "artifacts" / "objects").is_dir()
