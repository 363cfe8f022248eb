"""MLED's side of the ``search`` benchmark (imported by ``mled_side.py``, MLED's venv).

For each store (SQLite; PostgreSQL too when a server answers at ``MLED_BENCH_PG``, default
``postgresql://postgres@127.0.0.1:5432``, in a fresh database dropped afterwards) and each size
(``experiments`` and the MLflow-sized ``equal``): bulk-import the generated experiments with
``ExperimentService.import_many`` (timed), then time q1-q4 through the SDK (``Client.search``
and ``Client.search_iter``, the code path of ``mled.search``), checking every answer against
the expected one. Before those, into fresh stores: ``create_one`` experiments are created one
``log_experiment`` call at a time, and the ``equal`` ones by one ``Client.log_experiments``
call (the SDK's bulk path), both timed. Each timing records wall and CPU seconds.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import search_workload as sw
import workloads as w

from mled import Client
from mled.entities import NewExperiment
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore

PROJECT = "bench"
PG_SERVER = os.environ.get("MLED_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
PG_MAINTENANCE_DB = os.environ.get("MLED_BENCH_PG_DB", "postgres")


def _spec(row: sw.Row) -> NewExperiment:
    start = 1_700_000_000.0 + row.index
    return NewExperiment(
        project=PROJECT,
        name=row.name,
        status="finished",
        started_at=start,
        ended_at=start + 60.0,
        params=row.params,
        tags=row.tags,
        metrics={k: ([0], [start + 60.0], [v]) for k, v in row.metrics.items()},
    )


def _client(uri: str, home: Path) -> Client:
    return Client(
        settings=Settings(
            home=home,
            tracking_uri=uri,
            username="bench",
            capture_git=False,
            capture_command=False,
            capture_environment=False,
            capture_packages=False,
            handle_signals=False,
        )
    )


def _timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


@contextmanager
def _postgres() -> Iterator[str | None]:
    """A fresh PostgreSQL database URI (None when no server answers), dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"mled_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{PG_MAINTENANCE_DB}"
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        yield None
        return
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _import(uri: str, rows: list[sw.Row]) -> dict[str, Any]:
    """Bulk-import ``rows``: q4's window in transactions of its own, so it has its own times."""
    lo, hi = sw.window_indexes(len(rows))
    specs = [_spec(r) for r in rows]
    parts = [specs[:lo], specs[lo : hi + 1], specs[hi + 1 :]]
    store = SqlStore.open(uri)
    try:
        services = Services.for_user(store, "bench")

        def run() -> list[str]:
            return [i for part in parts if part for i in services.experiments.import_many(part)]

        wall, cpu, ids = _timed(run)
        assert len(ids) == len(rows)
    finally:
        store.close()
    return {"experiments": len(rows), "wall_s": wall, "cpu_s": cpu, "rate": len(rows) / wall}


def _window(client: Client, n: int) -> str:
    """q4's filter: the tag and the creation times of the window's first and last experiment."""
    lo, hi = sw.window_indexes(n)
    # Entities carry datetimes (microseconds); the stored epoch seconds may have more digits.
    first = client.search(f"name = 'run-{lo}'")[0].created_at.timestamp() - 0.001
    last = client.search(f"name = 'run-{hi}'")[0].created_at.timestamp() + 0.001
    return f"{sw.Q4_TAG} and created >= {first:.6f} and created <= {last:.6f}"


def _queries(client: Client, rows: list[sw.Row], repeat: int, rounds: int) -> dict[str, Any]:
    """Time q1, q2 and q4 in ``rounds`` interleaved rounds, q3 ``repeat // 2`` times (at
    least 2), and check every answer."""
    n = len(rows)
    q4 = _window(client, n)
    want_q1 = [f"run-{i}" for i in sw.expected_q1(rows)]
    want_q4 = {f"run-{i}" for i in sw.expected_q4(rows)}

    def q1() -> list[str]:
        return [e.name for e in client.search(sw.Q1_FILTER, order_by=[sw.Q1_ORDER], limit=100)]

    def q2() -> int:
        return len(client.search("", limit=sw.Q2_LIMIT))

    def q3() -> int:
        return sum(1 for _ in client.search_iter("", page_size=10_000))

    def q4_run() -> tuple[int, int]:
        found = client.search(q4)
        params = sum(len(e.params) + len(e.metrics) + len(e.tags) for e in found)
        assert {e.name for e in found} == want_q4
        return len(found), params

    checks: dict[str, Callable[[Any], bool]] = {
        "q1": lambda got: got == want_q1,
        "q2": lambda got: got == min(n, sw.Q2_LIMIT),
        "q3": lambda got: got == n,
        "q4": lambda got: got[0] == len(want_q4) and got[1] == got[0] * 35,
    }
    queries = {"q1": q1, "q2": q2, "q3": q3, "q4": q4_run}
    for fn in queries.values():
        fn()  # warm-up: the statement cache, the page cache
    times: dict[str, list[tuple[float, float, Any]]] = {name: [] for name in queries}
    for _ in range(rounds):
        for name in ("q1", "q2", "q4"):
            times[name].append(_timed(queries[name]))
    times["q3"] = [_timed(q3) for _ in range(max(2, repeat // 2))]
    out: dict[str, Any] = {"q4_filter": q4, "q4_matches": len(want_q4)}
    for name in queries:
        for _, _, got in times[name]:
            if not checks[name](got):
                raise RuntimeError(f"MLED {name} answered {got!r}")
        out[name] = {"wall_s": [t[0] for t in times[name]], "cpu_s": [t[1] for t in times[name]]}
    return out


def _one_at_a_time(uri: str, home: Path, rows: list[sw.Row]) -> dict[str, Any]:
    client = _client(uri, home)
    try:
        client.create_project(PROJECT)

        def create() -> None:
            for r in rows:
                client.log_experiment(
                    PROJECT,
                    r.name,
                    params=r.params,
                    metrics=r.metrics,
                    tags=r.tags,
                    started_at=1_700_000_000.0 + r.index,
                    ended_at=1_700_000_060.0 + r.index,
                )

        wall, cpu, _ = _timed(create)
        # Creations are staged and written in batches (mled.service.staging): the first read
        # afterwards writes what is still staged, so the rate with that write is reported too.
        first_read, _, _ = _timed(lambda: client.search("", limit=1))
        assert len(client.search("", limit=len(rows))) == len(rows)
    finally:
        client.close()
    return {
        "experiments": len(rows),
        "wall_s": wall,
        "cpu_s": cpu,
        "rate": len(rows) / wall,
        "first_read_s": first_read,
        "rate_with_first_read": len(rows) / (wall + first_read),
    }


def _sdk_bulk(uri: str, home: Path, rows: list[sw.Row]) -> dict[str, Any]:
    """The user-facing bulk path: one ``Client.log_experiments`` call for every row."""
    client = _client(uri, home)
    try:
        client.create_project(PROJECT)
        entries = [
            {
                "name": r.name,
                "params": r.params,
                "metrics": r.metrics,
                "tags": r.tags,
                "started_at": 1_700_000_000.0 + r.index,
                "ended_at": 1_700_000_060.0 + r.index,
            }
            for r in rows
        ]
        wall, cpu, ids = _timed(lambda: client.log_experiments(entries, project=PROJECT))
        assert len(ids) == len(rows)
    finally:
        client.close()
    return {"experiments": len(rows), "wall_s": wall, "cpu_s": cpu, "rate": len(rows) / wall}


def _size(uri: str, home: Path, rows: list[sw.Row], p: w.Params) -> dict[str, Any]:
    result = {"import": _import(uri, rows)}
    client = _client(uri, home)
    try:
        result.update(_queries(client, rows, p["repeat"], p["rounds"]))
    finally:
        client.close()
    return result


def bench_search(p: w.Params) -> dict[str, Any]:
    """Every store and size; see the module docstring."""
    big = list(sw.rows(p["experiments"]))
    sizes = {"large": big, "equal": big[: p["equal"]]}
    one = big[: p["create_one"]]
    out: dict[str, Any] = {"sizes": {k: len(v) for k, v in sizes.items()}, "stores": {}}
    with w.fresh_dir("mled-search") as tmp:
        stores: dict[str, Callable[[str], Any]] = {
            "sqlite": lambda label: _sqlite(tmp, label),
            "postgresql": _pg_database,
        }
        for store, make in stores.items():
            results: dict[str, Any] = {}
            # Creation first: after the large loads the kernel is still writing their pages
            # back, which slows every fsync of a one-at-a-time create.
            runs = [("one", one), ("sdk_bulk", sizes["equal"]), *sizes.items()]
            for label, data in runs:
                with make(label) as uri:
                    if uri is None:
                        break
                    if label == "one":
                        results["one_at_a_time"] = _one_at_a_time(uri, tmp / "home", data)
                    elif label == "sdk_bulk":
                        results["sdk_bulk"] = _sdk_bulk(uri, tmp / "home", data)
                    else:
                        results[label] = _size(uri, tmp / "home", data, p)
            if results:
                out["stores"][store] = results
    return out


@contextmanager
def _sqlite(tmp: Path, label: str) -> Iterator[str]:
    path = tmp / f"{label}.db"
    yield f"sqlite:///{path}"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _pg_database(label: str) -> Any:
    return _postgres()
