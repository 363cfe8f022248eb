"""Workloads shared by both sides, so MLED and MLflow do exactly the same thing.

This module is imported by ``mled_side.py`` (MLED's venv) and ``mlflow_side.py`` (the MLflow
venv), so it uses the standard library only. It holds:

- the workload parameters (full and ``--quick`` sizes) and the data every side logs,
- the side protocol: ``python bench/<side>.py BENCH --params JSON --out FILE`` writes one JSON
  object with raw timings (seconds per repetition) to FILE,
- the import-time measurement, identical for both packages.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from search_workload import SearchWorkload

Params = dict[str, Any]
SideBenchmark = Callable[[Params], dict[str, Any]]


@dataclass(frozen=True)
class LoggingWorkload:
    """One experiment logs ``metrics`` keys at each of ``steps`` steps, one call per step.

    MLflow's per-call path (``mlflow.log_metrics``) commits every call, so it runs on
    ``mlflow_steps`` steps only; its batch path (``MlflowClient.log_batch``) runs the full size.
    """

    metrics: int = 10
    steps: int = 10_000
    mlflow_steps: int = 500
    repeat: int = 5


@dataclass(frozen=True)
class ReadingWorkload:
    """Read back ``metrics`` histories of ``points`` points each from one experiment."""

    metrics: int = 10
    points: int = 10_000
    repeat: int = 5


@dataclass(frozen=True)
class ImportWorkload:
    """Cold ``import <package>`` in a fresh interpreter, ``runs`` times (after one warm-up)."""

    runs: int = 5


FULL: dict[str, Any] = {
    "logging": LoggingWorkload(),
    "reading": ReadingWorkload(),
    "import": ImportWorkload(),
    "search": SearchWorkload(),
}
QUICK: dict[str, Any] = {
    "logging": LoggingWorkload(steps=2_000, mlflow_steps=100, repeat=2),
    "reading": ReadingWorkload(points=2_000, repeat=2),
    "import": ImportWorkload(runs=2),
    "search": SearchWorkload(experiments=5_000, equal=1_000, create_one=200, repeat=2, rounds=4),
}


def workload_params(name: str, *, quick: bool) -> Params:
    """The parameters of benchmark ``name`` as a JSON-able dict."""
    return asdict((QUICK if quick else FULL)[name])


# --- data ------------------------------------------------------------------------------------


def metric_names(count: int) -> list[str]:
    """``metric_0`` ... ``metric_{count-1}``."""
    return [f"metric_{i}" for i in range(count)]


def metric_value(step: int, index: int) -> float:
    """A deterministic, non-constant value for metric ``index`` at ``step``."""
    return math.exp(-step / 2_000.0) * (1.0 + index) + 0.01 * math.sin(step * 0.7 + index)


def metric_rows(names: list[str], steps: int) -> list[dict[str, float]]:
    """One ``{key: value}`` dict per step, built before any timing starts."""
    return [{k: metric_value(s, i) for i, k in enumerate(names)} for s in range(steps)]


# --- timing ----------------------------------------------------------------------------------


@contextmanager
def fresh_dir(prefix: str) -> Iterator[Path]:
    """A new empty temporary directory, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"mled-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def timed(fn: Callable[[], Any]) -> float:
    """Seconds ``fn()`` takes on the monotonic high-resolution clock."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- import time -----------------------------------------------------------------------------

_IMPORTTIME = re.compile(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*(\S+)")


def _wall(python: str, code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([python, "-c", code], env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def _self_reported(python: str, module: str, env: dict[str, str]) -> float:
    """Cumulative seconds ``python -X importtime`` reports for ``module`` itself."""
    done = subprocess.run(
        [python, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    for line in done.stderr.splitlines():
        match = _IMPORTTIME.search(line)
        if match and match.group(2) == module:
            return int(match.group(1)) / 1e6
    raise RuntimeError(f"-X importtime printed no line for {module!r}")


def measure_import(module: str, runs: int) -> dict[str, Any]:
    """Wall time of ``python -c 'import M'`` and of ``python -c 'pass'``, interleaved.

    Each run is a fresh interpreter (bytecode caches warm after one untimed warm-up run).
    Also returns what ``-X importtime`` reports for the module, which excludes start-up.
    """
    python, env = sys.executable, dict(os.environ)
    _wall(python, f"import {module}", env)  # warm-up: compiles .pyc, fills the page cache
    imports, empties, reported = [], [], []
    for _ in range(runs):
        empties.append(_wall(python, "pass", env))
        imports.append(_wall(python, f"import {module}", env))
        reported.append(_self_reported(python, module, env))
    return {"import_s": imports, "empty_s": empties, "importtime_s": reported}


# --- side protocol ---------------------------------------------------------------------------


def side_main(benchmarks: dict[str, SideBenchmark], description: str, version: str) -> None:
    """Command line of a side script: run one benchmark and write its JSON result.

    ``version`` is the benchmarked package's version, recorded with the result.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("bench", choices=sorted(benchmarks))
    parser.add_argument("--params", required=True, help="workload parameters as JSON")
    parser.add_argument("--out", required=True, type=Path, help="where to write the JSON result")
    args = parser.parse_args()
    result = benchmarks[args.bench](json.loads(args.params))
    result.update(version=version, python=sys.version.split()[0], sqlite=sqlite3.sqlite_version)
    args.out.write_text(json.dumps(result, indent=2))
