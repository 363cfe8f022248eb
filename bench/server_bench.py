"""MLED's server vs MLflow's tracking server: logging over HTTP, start-up time, memory.

Usage (from the repository root)::

    .venv/bin/python bench/server_bench.py               # full size
    .venv/bin/python bench/server_bench.py --quick       # small sizes, to check the harness
    .venv/bin/python bench/server_bench.py --no-mlflow   # MLED's figures only

Both servers run on SQLite in a fresh temporary directory, as one serving process each
(MLED: ``uvicorn --factory mled.server.app:create_app_from_env``; MLflow: ``mlflow server
--workers 1`` from ``bench/.venv-mlflow``, created by ``mlflow_env.py`` when missing, with
``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` so that it runs the tracking server only and not
its background job consumers).
Measured, per side, in a fresh subprocess of its own interpreter (``server_bench.py side
mled|mlflow --params JSON --out FILE``):

- points/s made durable by one client: MLED ``log_metrics(dict, step)`` per step then
  ``flush()`` (returns once the server committed); MLflow ``mlflow.log_metrics`` per step (one
  request each, so on fewer steps) and ``MlflowClient.log_batch`` (1,000 metrics a request);
- MLED with 8 client processes logging at once (aggregate points/s);
- ready time: from starting the server process to the first 200 from its health endpoint;
- server memory under load: the largest VmRSS (``/proc/PID/status``, summed over the
  server's process tree) sampled while clients log.

Results are printed as a Markdown table and saved to ``bench/results/server-*.json``. Only
the standard library is imported at module level, so the MLflow venv can run this file too.

The functions ``mled_side``, ``mlflow_side`` and ``compare_server`` follow ``run_all.py``'s
side protocol, so the benchmark can also be registered there.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import workloads as w
from report import Row, Stat, Target, machine_info, markdown_table

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
READY_TIMEOUT = 60.0
Result = dict[str, Any]


@dataclass(frozen=True)
class ServerWorkload:
    """One client logs ``metrics`` keys at each of ``steps`` steps (MLflow's per-call path on
    ``mlflow_steps``); then ``clients`` processes do the same at once; ``starts`` cold starts
    measure the ready time."""

    metrics: int = 10
    steps: int = 10_000
    mlflow_steps: int = 300
    repeat: int = 5
    clients: int = 8
    rounds: int = 3
    starts: int = 5


FULL = ServerWorkload()
QUICK = ServerWorkload(steps=2_000, mlflow_steps=50, repeat=2, rounds=1, starts=2)


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class Server:
    """A server process, timed from spawn to its first healthy answer."""

    def __init__(self, cmd: list[str], env: dict[str, str], health: str, log: Path) -> None:
        self.cmd, self.env, self.health, self.log = cmd, env, health, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start the process; returns the seconds until it answered the health check."""
        started = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        while time.perf_counter() - started < READY_TIMEOUT:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.cmd[0]} exited:\n{self.log.read_text()[-3000:]}")
            if _answers(self.health):
                return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"not ready after {READY_TIMEOUT} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)
        self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def ready_times(server: Server, starts: int) -> list[float]:
    """Cold-start the server ``starts`` times; it is left running after the last start."""
    times = []
    for i in range(starts):
        times.append(server.start())
        if i < starts - 1:
            server.stop()
    return times


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids += [int(k) for k in task.read_text().split()]
        except OSError:
            pass
    return kids


def tree_rss_mb(pid: int) -> float:
    """VmRSS of a process and all its descendants, in MB (10^6 bytes)."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
        todo += _children(current)
    return total_kb * 1024 / 1e6


@contextmanager
def rss_peak(pid: int, every: float = 0.02) -> Iterator[list[float]]:
    """Sample the process tree's RSS while the block runs; yields [peak MB] (set at exit)."""
    peak = [tree_rss_mb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(every):
            peak[0] = max(peak[0], tree_rss_mb(pid))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], tree_rss_mb(pid))


# --- MLED side -------------------------------------------------------------------------------


def _mled_client(url: str, token: str, home: Path) -> Any:
    from mled.sdk.client import Client
    from mled.settings import Settings

    settings = Settings(
        home=home, tracking_uri=url, username="bench", token=token, handle_signals=False
    )
    return Client(settings=settings)


def mled_log_once(client: Any, rows: list[dict[str, float]]) -> tuple[float, float, float]:
    """One experiment: timed ``log_metrics`` per step + ``flush``; (seconds, start, end)."""
    exp = client.start_experiment(project="bench", name="server-bench", capture=False)
    start = time.time()
    seconds = w.timed(lambda: _log_all(exp, rows))
    end = time.time()
    exp.end()
    names = list(rows[0])
    got = len(client.get_metric_history(exp.id, names[-1]))
    if got != len(rows):
        raise RuntimeError(f"MLED stored {got} points for {names[-1]}, expected {len(rows)}")
    return seconds, start, end


def _log_all(exp: Any, rows: list[dict[str, float]]) -> None:
    log = exp.log_metrics
    for step, row in enumerate(rows):
        log(row, step=step)
    exp.flush()


def mled_client_main(args: dict[str, Any]) -> Result:
    """One of the concurrent client processes: wait for the common start, log, report."""
    rows = w.metric_rows(w.metric_names(args["metrics"]), args["steps"])
    client = _mled_client(args["url"], args["token"], Path(args["home"]))
    client.list_projects()  # connected before the start line
    time.sleep(max(0.0, args["start_at"] - time.time()))
    seconds, start, end = mled_log_once(client, rows)
    client.close()
    return {"seconds": seconds, "start": start, "end": end, "points": len(rows) * len(rows[0])}


def _concurrent_round(
    p: w.Params, url: str, token: str, tmp: Path, server_pid: int
) -> tuple[float, float]:
    """``clients`` processes log at once; (aggregate points/s, server RSS peak MB)."""
    start_at = time.time() + 3.0 + 0.3 * p["clients"]
    outs, procs = [], []
    for i in range(p["clients"]):
        out = tmp / f"client-{uuid.uuid4().hex}.json"
        spec = {**p, "url": url, "token": token, "home": str(tmp / f"home-{i}")}
        spec["start_at"] = start_at
        cmd = [sys.executable, __file__, "mled-client", json.dumps(spec), str(out)]
        procs.append(subprocess.Popen(cmd))
        outs.append(out)
    with rss_peak(server_pid) as peak:
        codes = [proc.wait(600) for proc in procs]
    if any(codes):
        raise RuntimeError(f"client processes failed with exit codes {codes}")
    results = [json.loads(o.read_text()) for o in outs]
    begin = min(r["start"] for r in results)
    end = max(r["end"] for r in results)
    return sum(r["points"] for r in results) / (end - begin), peak[0]


def mled_side(p: w.Params) -> Result:
    """Start MLED's server (timed), then the one-client and concurrent workloads."""
    import mled
    from mled.service import Services
    from mled.store.sql.store import SqlStore

    with w.fresh_dir("mled-server") as tmp:
        uri = f"sqlite:///{tmp / 'mled.db'}"
        store = SqlStore.open(uri)
        token = Services.for_user(store, "bench").tokens.create("bench").token
        store.close()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            sys.executable, "-m", "uvicorn", "--factory", "mled.server.app:create_app_from_env",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, "MLED_SERVER_STORE": uri, "MLED_HOME": str(tmp / "home")}
        server = Server(cmd, env, f"{url}/api/v1/health", tmp / "server.log")
        try:
            ready = ready_times(server, p["starts"])
            idle = tree_rss_mb(server.pid)
            rows = w.metric_rows(w.metric_names(p["metrics"]), p["steps"])
            client = _mled_client(url, token, tmp / "home")
            with rss_peak(server.pid) as one_peak:
                one = [mled_log_once(client, rows)[0] for _ in range(p["repeat"])]
            client.close()
            rounds = [_concurrent_round(p, url, token, tmp, server.pid) for _ in range(p["rounds"])]
        finally:
            server.stop()
    return {
        "version": mled.__version__,
        "ready_s": ready,
        "rss_idle_mb": idle,
        "one_client": {"points": p["metrics"] * p["steps"], "seconds": one},
        "rss_one_client_mb": one_peak[0],
        "concurrent": {"clients": p["clients"], "points_per_s": [r[0] for r in rounds]},
        "rss_concurrent_mb": [r[1] for r in rounds],
    }


# --- MLflow side -----------------------------------------------------------------------------


def _mlflow_log_fluent(url: str, names: list[str], steps: int) -> float:
    import mlflow
    from mlflow import MlflowClient

    rows = w.metric_rows(names, steps)
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment(f"fluent-{uuid.uuid4().hex}")
    run_id = client.create_run(exp_id).info.run_id
    mlflow.set_tracking_uri(url)
    log = mlflow.log_metrics
    with mlflow.start_run(run_id=run_id):
        start = time.perf_counter()
        for step, row in enumerate(rows):
            log(row, step=step)
        seconds = time.perf_counter() - start
    _mlflow_check(client, run_id, names[-1], steps)
    return seconds


def _mlflow_log_batches(url: str, names: list[str], steps: int) -> float:
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    from mlflow.utils.validation import MAX_METRICS_PER_BATCH

    rows = w.metric_rows(names, steps)
    client = MlflowClient(tracking_uri=url)
    exp_id = client.create_experiment(f"batch-{uuid.uuid4().hex}")
    run_id = client.create_run(exp_id).info.run_id
    start = time.perf_counter()
    batch: list[Any] = []
    for step, row in enumerate(rows):
        ts = int(time.time() * 1000)
        batch.extend(Metric(k, v, ts, step) for k, v in row.items())
        if len(batch) >= MAX_METRICS_PER_BATCH:
            client.log_batch(run_id, metrics=batch[:MAX_METRICS_PER_BATCH])
            batch = batch[MAX_METRICS_PER_BATCH:]
    if batch:
        client.log_batch(run_id, metrics=batch)
    seconds = time.perf_counter() - start
    _mlflow_check(client, run_id, names[-1], steps)
    return seconds


def _mlflow_check(client: Any, run_id: str, key: str, steps: int) -> None:
    got = len(client.get_metric_history(run_id, key))
    if got != steps:
        raise RuntimeError(f"MLflow stored {got} points for {key}, expected {steps}")


def mlflow_side(p: w.Params) -> Result:
    """Start MLflow's tracking server (timed), then its per-call and batch paths."""
    import mlflow

    names = w.metric_names(p["metrics"])
    with w.fresh_dir("mlflow-server") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [
            str(Path(sys.executable).with_name("mlflow")), "server",
            "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
            "--default-artifact-root", str(tmp / "artifacts"),
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        ]  # fmt: skip
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # tracking only
        server = Server(cmd, env, f"{url}/health", tmp / "server.log")
        try:
            server.start()  # creates the database (migrations): not a cold start to time
            server.stop()
            ready = ready_times(server, p["starts"])
            idle = tree_rss_mb(server.pid)
            fluent = [_mlflow_log_fluent(url, names, p["mlflow_steps"]) for _ in range(p["repeat"])]
            with rss_peak(server.pid) as peak:
                batch = [_mlflow_log_batches(url, names, p["steps"]) for _ in range(p["repeat"])]
        finally:
            server.stop()
    return {
        "version": mlflow.__version__,
        "ready_s": ready,
        "rss_idle_mb": idle,
        "log_metrics": {"points": p["metrics"] * p["mlflow_steps"], "seconds": fluent},
        "log_batch": {"points": p["metrics"] * p["steps"], "seconds": batch},
        "rss_one_client_mb": peak[0],
    }


# --- comparison ------------------------------------------------------------------------------


def _rates(side: Result) -> Stat:
    return Stat.of([side["points"] / s for s in side["seconds"]], "higher")


def compare_server(p: w.Params, mled: Result, mlflow: Result | None) -> list[Row]:
    """The table rows of this benchmark (also usable from ``run_all.py``)."""
    size = f"{p['metrics']} metrics x {p['steps']:,} steps"
    one = _rates(mled["one_client"])
    rows = [
        Row(
            "server",
            f"1 client, log_metrics(dict, step) per step + flush, durable; MLED {size}",
            "points/s",
            "higher",
            one,
            _rates(mlflow["log_metrics"]) if mlflow else None,
            Target(
                ">= 200,000 points/s and >= 500x",
                lambda r: (
                    r.mled is not None
                    and r.mled.median >= 200_000
                    and (r.ratio is None or r.ratio >= 500)
                ),
            ),
            note=f"MLflow mlflow.log_metrics on {p['mlflow_steps']:,} steps: a request per call",
        ),
        Row(
            "server",
            f"vs MLflow's best case, MlflowClient.log_batch over HTTP; both {size}",
            "points/s",
            "higher",
            one,
            _rates(mlflow["log_batch"]) if mlflow else None,
        ),
        Row(
            "server",
            f"{p['clients']} client processes at once, aggregate; each {size}",
            "points/s",
            "higher",
            Stat.of(mled["concurrent"]["points_per_s"], "higher"),
            None,
        ),
        Row(
            "server",
            "ready: process start to the first 200 from the health endpoint",
            "s",
            "lower",
            Stat.of(mled["ready_s"], "lower"),
            Stat.of(mlflow["ready_s"], "lower") if mlflow else None,
            Target("<= 1.5 s", lambda r: r.mled is not None and r.mled.median <= 1.5),
            note=f"median of {p['starts']} cold starts",
        ),
        Row(
            "server",
            f"server RSS peak, MLED under {p['clients']} clients; MLflow under 1 (log_batch)",
            "MB",
            "lower",
            Stat.of(mled["rss_concurrent_mb"], "lower"),
            Stat.of([mlflow["rss_one_client_mb"]], "lower") if mlflow else None,
            Target("<= 150 MB", lambda r: r.mled is not None and r.mled.best <= 150),
            note=f"MLED idle {mled['rss_idle_mb']:.0f} MB, 1 client "
            f"{mled['rss_one_client_mb']:.0f} MB"
            + (f"; MLflow idle {mlflow['rss_idle_mb']:.0f} MB" if mlflow else ""),
        ),
    ]
    return rows


# --- command line ----------------------------------------------------------------------------

SIDES = {"mled": mled_side, "mlflow": mlflow_side}


def run_side(
    label: str, python: Path, params: w.Params, workdir: Path, env: dict[str, str]
) -> Result:
    out = workdir / f"{label}-server.json"
    cmd = [str(python), __file__, "side", label, "--params", json.dumps(params), "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-30:])
        raise RuntimeError(f"the {label} side failed:\n{tail}")
    print(f"  {label:<6} done in {time.perf_counter() - started:5.1f} s", flush=True)
    result: Result = json.loads(out.read_text())
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "mled-client":
        Path(argv[2]).write_text(json.dumps(mled_client_main(json.loads(argv[1]))))
        return 0
    if argv and argv[0] == "side":
        parser = argparse.ArgumentParser(prog="server_bench.py side")
        parser.add_argument("label", choices=sorted(SIDES))
        parser.add_argument("--params", required=True)
        parser.add_argument("--out", required=True, type=Path)
        args = parser.parse_args(argv[1:])
        result = SIDES[args.label](json.loads(args.params))
        args.out.write_text(json.dumps(result, indent=2))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument("--no-mlflow", action="store_true", help="run MLED's side only")
    parser.add_argument("--repeat", type=int, help="override the repetitions")
    args = parser.parse_args(argv)
    params = asdict(QUICK if args.quick else FULL)
    if args.repeat:
        params["repeat"] = args.repeat
    print(f"[server] MLED server vs MLflow tracking server: {json.dumps(params)}", flush=True)
    raw: dict[str, Result | None] = {"mled": None, "mlflow": None}
    with tempfile.TemporaryDirectory(prefix="mled-bench-server-") as tmp:
        raw["mled"] = run_side("mled", Path(sys.executable), params, Path(tmp), dict(os.environ))
        if not args.no_mlflow:
            import mlflow_env

            python = mlflow_env.ensure_mlflow()
            raw["mlflow"] = run_side("mlflow", python, params, Path(tmp), mlflow_env.quiet_env())
    assert raw["mled"] is not None
    rows = compare_server(params, raw["mled"], raw["mlflow"])
    info = machine_info(REPO)
    info |= {side: (r or {}).get("version") for side, r in raw.items()}
    print()
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    print()
    print(markdown_table(rows, quick=args.quick))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"server-{stamp}{'-quick' if args.quick else ''}.json"
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": info,
        "params": params,
        "rows": [r.as_json(quick=args.quick) for r in rows],
        "raw": raw,
    }
    path.write_text(json.dumps(report, indent=2))
    print(f"\nResults: {path.relative_to(REPO)}")
    return 1 if any(r.status(quick=args.quick) == "MISSED" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
