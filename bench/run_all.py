"""Run MLED and MLflow on the same workloads in one run and print how they compare.

Usage (from the repository root; ``make bench`` runs the first line)::

    .venv/bin/python bench/run_all.py                 # every benchmark, full size
    .venv/bin/python bench/run_all.py --quick         # small sizes, to check the harness
    .venv/bin/python bench/run_all.py --only logging,import
    .venv/bin/python bench/run_all.py --no-mlflow     # MLED's figures only

MLED's side runs with this interpreter (MLED's venv); MLflow's side runs with the interpreter
of ``bench/.venv-mlflow``, created on first use by ``mlflow_env.py``. Each side is a fresh
subprocess per benchmark that writes its raw timings as JSON. The comparison is printed as a
Markdown table and saved with the raw results to ``bench/results/``.

A benchmark is an entry in ``BENCHMARKS``: a name, the function of each side with that name
(``mled_side.BENCHMARKS`` / ``mlflow_side.BENCHMARKS``) and a ``compare`` function that turns
both results into table rows.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow_env
import workloads
from report import Row, Stat, Target, machine_info, markdown_table
from search_compare import compare_search

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

Result = dict[str, Any]
Compare = Callable[[workloads.Params, Result, Result | None], list[Row]]


@dataclass(frozen=True)
class Benchmark:
    """One named benchmark: both sides run ``name``; ``compare`` builds the table rows."""

    name: str
    title: str
    compare: Compare


# --- comparisons -----------------------------------------------------------------------------


def _rates(side: Result) -> Stat:
    return Stat.of([side["points"] / s for s in side["seconds"]], "higher")


def _millis(seconds: list[float]) -> Stat:
    return Stat.of([s * 1000 for s in seconds], "lower")


def compare_logging(p: workloads.Params, mled: Result, mlflow: Result | None) -> list[Row]:
    """Points/s made durable: MLED log_metrics + flush vs MLflow's per-call and batch paths."""
    fast = _rates(mled)
    size = f"{p['metrics']} metrics x {p['steps']:,} steps"
    target = Target(
        ">= 1,000,000 points/s and >= 500x",
        lambda r: (
            r.mled is not None
            and r.mled.median >= 1_000_000
            and (r.ratio is None or r.ratio >= 500)
        ),
    )
    per_call = Row(
        "logging",
        "log_metrics(dict, step=s) every step, durable",
        "points/s",
        "higher",
        fast,
        _rates(mlflow["log_metrics"]) if mlflow else None,
        target,
        note=f"MLED: {size}, then flush(). MLflow: mlflow.log_metrics on "
        f"{p['metrics']} metrics x {p['mlflow_steps']:,} steps (each call commits).",
    )
    batch = Row(
        "logging",
        "MLED log_metrics vs MLflow's best case, log_batch",
        "points/s",
        "higher",
        fast,
        _rates(mlflow["log_batch"]) if mlflow else None,
        note=f"Both {size}; MLflow builds Metric entities and sends "
        f"{(mlflow or {}).get('max_metrics_per_batch')} per MlflowClient.log_batch call.",
    )
    return [per_call, batch] if mlflow else [per_call]


def compare_reading(p: workloads.Params, mled: Result, mlflow: Result | None) -> list[Row]:
    """Milliseconds to read every history: mled.get_metric_history vs MlflowClient's."""
    return [
        Row(
            "reading",
            f"get_metric_history x {p['metrics']} keys, {p['points']:,} points each",
            "ms",
            "lower",
            _millis(mled["seconds"]),
            _millis(mlflow["seconds"]) if mlflow else None,
            Target("<= 50 ms", lambda r: r.mled is not None and r.mled.median <= 50),
            note="Equal data on both sides (MLflow's logged with log_batch, untimed); the store "
            "is open before timing; each read returns and checks all points.",
        )
    ]


def _import_ms(side: Result) -> Stat:
    """Import wall time minus the same run's empty interpreter start, per pair of runs."""
    pairs = zip(side["import_s"], side["empty_s"], strict=True)
    return _millis([imp - empty for imp, empty in pairs])


def compare_import(p: workloads.Params, mled: Result, mlflow: Result | None) -> list[Row]:
    """Cold import: wall time over an empty interpreter, and ``-X importtime``'s own figure."""
    return [
        Row(
            "import",
            "cold import, wall time minus empty interpreter",
            "ms",
            "lower",
            _import_ms(mled),
            _import_ms(mlflow) if mlflow else None,
            Target("<= 150 ms", lambda r: r.mled is not None and r.mled.median <= 150),
            note=f"{p['runs']} fresh interpreters per package, each paired with an empty one "
            "('python -c pass') started just before; bytecode caches warm.",
        ),
        Row(
            "import",
            "cold import, python -X importtime cumulative",
            "ms",
            "lower",
            _millis(mled["importtime_s"]),
            _millis(mlflow["importtime_s"]) if mlflow else None,
        ),
    ]


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in [
        Benchmark("logging", "Logging throughput into embedded SQLite", compare_logging),
        Benchmark("reading", "Reading metric histories back", compare_reading),
        Benchmark("import", "Cold import time", compare_import),
        Benchmark("search", "Search and creation at 100,000 experiments", compare_search),
    ]
}


# --- running the sides -----------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """How to start one side: its interpreter, script and environment."""

    label: str
    python: Path
    script: Path
    env: dict[str, str]

    def run(self, bench: str, params: workloads.Params, workdir: Path) -> Result:
        """Run ``bench`` in a fresh subprocess and return its JSON result."""
        out = workdir / f"{self.label}-{bench}.json"
        cmd = [str(self.python), str(self.script), bench, "--params", json.dumps(params)]
        done = subprocess.run(
            [*cmd, "--out", str(out)],
            cwd=workdir,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join(done.stderr.splitlines()[-30:])
            raise RuntimeError(f"{self.label} side of {bench!r} failed:\n{tail}")
        result: Result = json.loads(out.read_text())
        return result


def make_sides(workdir: Path, mlflow_python: Path | None) -> tuple[Side, Side | None]:
    """MLED with this interpreter and a private MLED_HOME; MLflow with its own venv."""
    mled_env = {**os.environ, "MLED_HOME": str(workdir / "mled-home")}
    mled = Side("mled", Path(sys.executable), BENCH_DIR / "mled_side.py", mled_env)
    if mlflow_python is None:
        return mled, None
    mlflow = Side("mlflow", mlflow_python, BENCH_DIR / "mlflow_side.py", mlflow_env.quiet_env())
    return mled, mlflow


def run_benchmark(
    bench: Benchmark, params: workloads.Params, mled: Side, mlflow: Side | None, workdir: Path
) -> tuple[list[Row], dict[str, Result | None]]:
    """Both sides of one benchmark, then its comparison rows."""
    raw: dict[str, Result | None] = {}
    for side in (mled, mlflow):
        if side is None:
            continue
        start = time.perf_counter()
        raw[side.label] = side.run(bench.name, params, workdir)
        print(f"  {side.label:<6} done in {time.perf_counter() - start:5.1f} s", flush=True)
    return bench.compare(params, raw["mled"] or {}, raw.get("mlflow")), raw


# --- command line ----------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="MLED vs MLflow benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--repeat", type=int, help="override every benchmark's repetitions")
    parser.add_argument("--no-mlflow", action="store_true", help="run MLED's side only")
    parser.add_argument(
        "--mlflow-version", default=mlflow_env.MLFLOW_VERSION, help="MLflow version to install"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where JSON goes")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    args.names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    return args


def params_for(name: str, args: argparse.Namespace) -> workloads.Params:
    params = workloads.workload_params(name, quick=args.quick)
    if args.repeat:
        params["repeat" if "repeat" in params else "runs"] = args.repeat
    return params


def save(args: argparse.Namespace, report: dict[str, Any]) -> Path:
    """Write the run's JSON to ``results/<UTC time>.json`` and ``results/latest.json``."""
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.results_dir / f"{stamp}{'-quick' if args.quick else ''}.json"
    text = json.dumps(report, indent=2)
    path.write_text(text)
    (args.results_dir / "latest.json").write_text(text)
    return path


def versions(raw: dict[str, dict[str, Result | None]]) -> dict[str, str | None]:
    """Package, Python and SQLite versions as each side reported them."""
    found: dict[str, str | None] = {"mled": None, "mlflow": None}
    for sides in raw.values():
        for label, result in sides.items():
            if result:
                found[label] = result["version"]
                found["python"], found["sqlite"] = result["python"], result["sqlite"]
    return found


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    mlflow_python = None
    if not args.no_mlflow:
        mlflow_python = mlflow_env.ensure_mlflow(args.mlflow_version)
    rows: list[Row] = []
    raw: dict[str, dict[str, Result | None]] = {}
    with tempfile.TemporaryDirectory(prefix="mled-bench-") as tmp:
        mled, mlflow = make_sides(Path(tmp), mlflow_python)
        for name in args.names:
            bench, params = BENCHMARKS[name], params_for(name, args)
            print(f"[{name}] {bench.title}: {json.dumps(params)}", flush=True)
            got, raw[name] = run_benchmark(bench, params, mled, mlflow, Path(tmp))
            rows.extend(got)
    info = {**machine_info(REPO), **versions(raw)}
    print()
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print(markdown_table(rows, quick=args.quick))
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "quick": args.quick,
        "machine": info,
        "params": {n: params_for(n, args) for n in args.names},
        "rows": [r.as_json(quick=args.quick) for r in rows],
        "raw": raw,
    }
    path = save(args, report)
    print(f"\nResults: {path}  ({time.perf_counter() - started:.0f} s in all)")
    missed = [r for r in rows if r.status(quick=args.quick) == "MISSED"]
    for r in missed:
        print(f"Target missed: {r.bench}: {r.measure} ({r.target.text if r.target else ''})")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
