"""MLflow's side of the ``search`` benchmark (imported by ``mlflow_side.py``, MLflow's venv).

The same generated experiments as MLED's side (``search_workload.py``), ``equal`` of them,
as runs of one MLflow experiment on a ``sqlite:///`` tracking store: ``create_run`` (with the
tags and ``start_time`` = base + index ms) plus one ``log_batch`` (params and final metrics)
per run, timed as MLflow's creation rate. Then q1-q4 through ``MlflowClient.search_runs``,
each answer checked: q4's creation-time window is on ``attributes.start_time`` (MLflow's
``created``), and every query pages with ``max_results`` 10,000 like MLED's side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import search_workload as sw
import workloads as w
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

BASE_MS = 1_700_000_000_000
PAGE = 10_000


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _load(client: MlflowClient, exp_id: str, rows: list[sw.Row]) -> None:
    for r in rows:
        start = BASE_MS + r.index
        run = client.create_run(exp_id, start_time=start, tags=r.tags, run_name=r.name)
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, start + 60_000, 0) for k, v in r.metrics.items()],
            params=[Param(k, str(v)) for k, v in r.params.items()],
        )
        client.set_terminated(run_id, end_time=start + 60_000)


def _all(client: MlflowClient, exp_id: str, **kwargs: Any) -> list[Any]:
    runs: list[Any] = []
    token = None
    while True:
        page = client.search_runs([exp_id], max_results=PAGE, page_token=token, **kwargs)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def bench_search(p: w.Params) -> dict[str, Any]:
    rows = list(sw.rows(p["experiments"]))[: p["equal"]]
    n = len(rows)
    lo, hi = sw.window_indexes(n)
    q4 = f"{sw.Q4_TAG} and attributes.start_time >= {BASE_MS + lo} "
    q4 += f"and attributes.start_time <= {BASE_MS + hi}"
    want_q1 = [f"run-{i}" for i in sw.expected_q1(rows)]
    want_q4 = {f"run-{i}" for i in sw.expected_q4(rows)}
    with w.fresh_dir("mlflow-search") as tmp:
        client = MlflowClient(tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        exp_id = client.create_experiment("bench", artifact_location=str(Path(tmp) / "a"))
        wall, cpu, _ = _timed(lambda: _load(client, exp_id, rows))
        created = {"experiments": n, "wall_s": wall, "cpu_s": cpu, "rate": n / wall}

        def q1() -> list[str]:
            runs = client.search_runs(
                [exp_id], filter_string=sw.Q1_FILTER, order_by=["metrics.m1 DESC"], max_results=100
            )
            return [r.info.run_name for r in runs]

        def q2() -> int:
            return len(client.search_runs([exp_id], max_results=sw.Q2_LIMIT))

        def q3() -> int:
            return len(_all(client, exp_id))

        def q4_run() -> tuple[int, int]:
            found = _all(client, exp_id, filter_string=q4)
            size = sum(len(r.data.params) + len(r.data.metrics) + len(r.data.tags) for r in found)
            assert {r.info.run_name for r in found} == want_q4
            return len(found), size

        checks: dict[str, Callable[[Any], bool]] = {
            "q1": lambda got: got == want_q1,
            "q2": lambda got: got == min(n, sw.Q2_LIMIT),
            "q3": lambda got: got == n,
            "q4": lambda got: got[0] == len(want_q4),
        }
        out: dict[str, Any] = {"size": n, "create": created, "q4_filter": q4}
        for name, fn in (("q1", q1), ("q2", q2), ("q3", q3), ("q4", q4_run)):
            fn()
            times = [_timed(fn) for _ in range(max(2, p["repeat"] // 2))]
            for _, _, got in times:
                if not checks[name](got):
                    raise RuntimeError(f"MLflow {name} answered {got!r}")
            out[name] = {"wall_s": [t[0] for t in times], "cpu_s": [t[1] for t in times]}
    return out
