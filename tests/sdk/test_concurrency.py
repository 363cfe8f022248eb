"""Several processes logging into ONE embedded SQLite store at once: no error, nothing lost."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mled.sdk.client import Client
from mled.settings import Settings

Spawn = Callable[..., subprocess.Popen[str]]  # the ``spawn`` fixture of tests/sdk/conftest.py
WORKERS = 4
KEYS = 10
STEPS = 2_000


@pytest.mark.slow
def test_concurrent_processes_share_one_sqlite_store(
    spawn: Spawn, sqlite_uri: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    procs = [spawn("worker", sqlite_uri, str(go)) for _ in range(WORKERS)]
    for proc in procs:  # every worker has imported mled and waits at the barrier
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.communicate()[1]
    go.touch()
    began = time.monotonic()
    results = [proc.communicate(timeout=180) for proc in procs]
    elapsed = time.monotonic() - began

    for proc, (_, stderr) in zip(procs, results, strict=True):
        assert "database is locked" not in stderr
        assert proc.returncode == 0, stderr
    ids = [stdout.split()[0] for stdout, _ in results]
    assert len(set(ids)) == WORKERS

    reader = Client(
        settings=Settings(home=tmp_path / "home", tracking_uri=sqlite_uri, username="alice")
    )
    try:
        total = 0
        for exp_id in ids:
            exp = reader.get_experiment(exp_id)
            assert exp.status == "finished"
            assert sorted(exp.metrics) == [f"k{k}" for k in range(KEYS)]
            for k in range(KEYS):
                history = reader.get_metric_history(exp_id, f"k{k}")
                assert history.steps == list(range(STEPS))
                assert history.values == [step + k / 10 for step in range(STEPS)]
                total += len(history)
        assert total == WORKERS * KEYS * STEPS == 80_000
        report = reader.verify_audit()
        assert report.ok, report.problems
        # 80 batches per worker, each its own transaction, with one chunk per key.
        assert report.chunks_checked == WORKERS * 80 * KEYS
    finally:
        reader.close()
    assert elapsed < 120
