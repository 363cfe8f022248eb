"""MLED's side of the benchmarks, run with MLED's venv (``.venv/bin/python``).

Each benchmark takes the workload parameters from ``workloads.py`` and returns raw timings in
seconds, one per repetition. Every repetition gets a fresh temporary directory and database.
Capture of git/command/environment is disabled; it happens in ``start_experiment``, outside
the timed region, in any case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import workloads as w
from search_mled import bench_search

import mled
from mled import Client, LiveExperiment

PROJECT = "bench"


def _uri(directory: Path) -> str:
    return f"sqlite:///{directory / 'mled.db'}"


def _start(client: Client) -> LiveExperiment:
    return client.start_experiment(project=PROJECT, name="bench", capture=False)


def _log(exp: LiveExperiment, rows: list[dict[str, float]]) -> None:
    """The timed workload: one ``log_metrics`` call per step, then one durable ``flush``."""
    log = exp.log_metrics
    for step, row in enumerate(rows):
        log(row, step=step)
    exp.flush()


def _check(client: Client, exp_id: str, names: list[str], points: int) -> None:
    got = len(client.get_metric_history(exp_id, names[-1]))
    if got != points:
        raise RuntimeError(f"MLED stored {got} points for {names[-1]}, expected {points}")


def _storage(client: Client) -> dict[str, Any]:
    """SQLite journal mode and synchronous level of MLED's connections."""
    engine = client.backend.store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    return {"journal_mode": journal, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL"}.get(sync)}


def bench_logging(p: w.Params) -> dict[str, Any]:
    """``exp.log_metrics(dict, step=s)`` for every step, then ``exp.flush()``."""
    names = w.metric_names(p["metrics"])
    rows = w.metric_rows(names, p["steps"])
    seconds = []
    for _ in range(p["repeat"]):
        with w.fresh_dir("mled-log") as tmp:
            client = Client(_uri(tmp))
            exp = _start(client)
            seconds.append(w.timed(lambda exp=exp: _log(exp, rows)))
            exp.end()
            _check(client, exp.id, names, p["steps"])
            storage = _storage(client)
            client.close()
    return {"points": len(names) * p["steps"], "seconds": seconds, "storage": storage}


def _read_all(exp_id: str, names: list[str], points: int) -> None:
    for key in names:
        if len(mled.get_metric_history(exp_id, key)) != points:
            raise RuntimeError(f"MLED returned a short history for {key}")


def bench_reading(p: w.Params) -> dict[str, Any]:
    """``mled.get_metric_history`` for each of the histories (store already open)."""
    names = w.metric_names(p["metrics"])
    rows = w.metric_rows(names, p["points"])
    with w.fresh_dir("mled-read") as tmp:
        client = Client(_uri(tmp))
        with _start(client) as exp:
            _log(exp, rows)
        client.close()
        mled.set_tracking_uri(_uri(tmp))
        mled.get_experiment(exp.id)  # opens the store: not part of the reads
        seconds = [
            w.timed(lambda: _read_all(exp.id, names, p["points"])) for _ in range(p["repeat"])
        ]
        mled.set_tracking_uri(None)
    return {"histories": len(names), "points": p["points"], "seconds": seconds}


def bench_import(p: w.Params) -> dict[str, Any]:
    """Cold ``import mled`` in fresh interpreters."""
    return w.measure_import("mled", p["runs"])


BENCHMARKS: dict[str, w.SideBenchmark] = {
    "logging": bench_logging,
    "reading": bench_reading,
    "import": bench_import,
    "search": bench_search,
}


def main() -> None:
    w.side_main(BENCHMARKS, "MLED side of the benchmarks", mled.__version__)


if __name__ == "__main__":
    main()
