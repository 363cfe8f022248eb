"""MLflow's side of the benchmarks, run with the MLflow venv (``bench/.venv-mlflow``).

Same workloads and data as ``mled_side.py`` (see ``workloads.py``), against MLflow's embedded
SQLAlchemy store on a ``sqlite:///`` tracking URI. Every repetition gets a fresh temporary
directory and database; creating the database (MLflow's migrations) is outside the timings.
All logging is synchronous: a call that returned has committed its points.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import mlflow
import workloads as w
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.utils.validation import MAX_METRICS_PER_BATCH
from search_mlflow import bench_search


def _uri(directory: Path) -> str:
    return f"sqlite:///{directory / 'mlflow.db'}"


def _new_run(directory: Path) -> tuple[MlflowClient, str]:
    """A fresh store with one experiment and one running run (untimed set-up)."""
    client = MlflowClient(tracking_uri=_uri(directory))
    exp_id = client.create_experiment("bench", artifact_location=str(directory / "artifacts"))
    return client, client.create_run(exp_id).info.run_id


def _storage(client: MlflowClient) -> dict[str, Any]:
    """SQLite journal mode and synchronous level of MLflow's connections (best effort)."""
    try:
        engine = client._tracking_client.store.engine
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    except Exception as err:  # internal attributes differ between MLflow versions
        return {"error": repr(err)}
    return {"journal_mode": journal, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL"}.get(sync)}


def _check(client: MlflowClient, run_id: str, names: list[str], points: int) -> None:
    got = len(client.get_metric_history(run_id, names[-1]))
    if got != points:
        raise RuntimeError(f"MLflow stored {got} points for {names[-1]}, expected {points}")


def _log_fluent(rows: list[dict[str, float]]) -> None:
    """The timed per-call path: ``mlflow.log_metrics(dict, step=s)`` for every step."""
    log = mlflow.log_metrics
    for step, row in enumerate(rows):
        log(row, step=step)


def _log_batches(client: MlflowClient, run_id: str, rows: list[dict[str, float]]) -> None:
    """The timed batch path: Metric entities sent by ``log_batch`` in maximal batches."""
    batch: list[Metric] = []
    for step, row in enumerate(rows):
        ts = int(time.time() * 1000)
        batch.extend(Metric(k, v, ts, step) for k, v in row.items())
        if len(batch) >= MAX_METRICS_PER_BATCH:
            client.log_batch(run_id, metrics=batch[:MAX_METRICS_PER_BATCH])
            batch = batch[MAX_METRICS_PER_BATCH:]
    if batch:
        client.log_batch(run_id, metrics=batch)


def _fluent_once(names: list[str], steps: int) -> tuple[float, dict[str, Any]]:
    rows = w.metric_rows(names, steps)
    with w.fresh_dir("mlflow-log") as tmp:
        client, run_id = _new_run(tmp)
        mlflow.set_tracking_uri(_uri(tmp))
        with mlflow.start_run(run_id=run_id):
            seconds = w.timed(lambda: _log_fluent(rows))
        _check(client, run_id, names, steps)
        return seconds, _storage(client)


def _batch_once(names: list[str], rows: list[dict[str, float]]) -> float:
    with w.fresh_dir("mlflow-batch") as tmp:
        client, run_id = _new_run(tmp)
        seconds = w.timed(lambda: _log_batches(client, run_id, rows))
        _check(client, run_id, names, len(rows))
        return seconds


def bench_logging(p: w.Params) -> dict[str, Any]:
    """``mlflow.log_metrics`` on ``mlflow_steps`` steps and ``log_batch`` on all ``steps``."""
    names = w.metric_names(p["metrics"])
    fluent, storage = [], {}
    for _ in range(p["repeat"]):
        seconds, storage = _fluent_once(names, p["mlflow_steps"])
        fluent.append(seconds)
    rows = w.metric_rows(names, p["steps"])
    batch = [_batch_once(names, rows) for _ in range(p["repeat"])]
    return {
        "log_metrics": {"points": len(names) * p["mlflow_steps"], "seconds": fluent},
        "log_batch": {"points": len(names) * p["steps"], "seconds": batch},
        "max_metrics_per_batch": MAX_METRICS_PER_BATCH,
        "storage": storage,
    }


def _read_all(client: MlflowClient, run_id: str, names: list[str], points: int) -> None:
    for key in names:
        if len(client.get_metric_history(run_id, key)) != points:
            raise RuntimeError(f"MLflow returned a short history for {key}")


def bench_reading(p: w.Params) -> dict[str, Any]:
    """``MlflowClient.get_metric_history`` for each history (data logged with log_batch)."""
    names = w.metric_names(p["metrics"])
    rows = w.metric_rows(names, p["points"])
    with w.fresh_dir("mlflow-read") as tmp:
        client, run_id = _new_run(tmp)
        _log_batches(client, run_id, rows)
        client.set_terminated(run_id)
        client.get_run(run_id)  # warm: the store is open before the timed reads
        seconds = [
            w.timed(lambda: _read_all(client, run_id, names, p["points"]))
            for _ in range(p["repeat"])
        ]
    return {"histories": len(names), "points": p["points"], "seconds": seconds}


def bench_import(p: w.Params) -> dict[str, Any]:
    """Cold ``import mlflow`` in fresh interpreters."""
    return w.measure_import("mlflow", p["runs"])


BENCHMARKS: dict[str, w.SideBenchmark] = {
    "logging": bench_logging,
    "reading": bench_reading,
    "import": bench_import,
    "search": bench_search,
}


def main() -> None:
    w.side_main(BENCHMARKS, "MLflow side of the benchmarks", mlflow.__version__)


if __name__ == "__main__":
    main()
