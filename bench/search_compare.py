"""Table rows of the ``search`` benchmark (used by ``run_all.py``)."""

from __future__ import annotations

from typing import Any

from report import Row, Stat, Target

Result = dict[str, Any]
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
QUERIES = {
    "q1": "q1 `metrics.m0 > 0.5 and params.p3 = 'a'` by metrics.m1 desc, limit 100",
    "q2": "q2 no filter, first 1,000",
    "q3": "q3 every experiment, pages of 10,000",
    "q4": "q4 tag and `created` window, ~5%, whole experiments",
}


def _ms(side: Result) -> Stat:
    return Stat.of([s * 1000 for s in side["wall_s"]], "lower")


def _s(side: Result) -> Stat:
    return Stat.of(list(side["wall_s"]), "lower")


def _cpu_note(side: Result, unit: str) -> str:
    scale = 1000 if unit == "ms" else 1
    cpu = sorted(side["cpu_s"])[len(side["cpu_s"]) // 2] * scale
    return f"CPU {cpu:,.1f} {unit}"


def _at_most(limit: float) -> Target:
    return Target(f"<= {limit:g}", lambda r: r.mled is not None and r.mled.median <= limit)


def _fast_and_ahead(limit: float | None) -> Target:
    text = f"<= {limit:g} ms and >= 20x" if limit is not None else ">= 20x"

    def check(r: Row) -> bool:
        fast = limit is None or (r.mled is not None and r.mled.median <= limit)
        return fast and r.ratio is not None and r.ratio >= 20

    return Target(text, check)


def _query_rows(
    label: str, size: int, mled: Result, mlflow: Result | None, large: bool, store: str
) -> list[Row]:
    rows = []
    targets_large = {"q1": _at_most(50), "q3": _at_most(5), "q4": _at_most(150)}
    for q, measure in QUERIES.items():
        unit = "s" if q == "q3" else "ms"
        stat = _s if unit == "s" else _ms
        target = None
        if store == "sqlite":
            if large:
                target = targets_large.get(q)
            elif mlflow is not None:
                target = _fast_and_ahead(10 if q == "q1" else None)
        notes = [f"MLED {_cpu_note(mled[q], unit)}"]
        if mlflow is not None:
            notes.append(f"MLflow {_cpu_note(mlflow[q], unit)}")
        rows.append(
            Row(
                f"search {label} {size:,}",
                measure,
                unit,
                "lower",
                stat(mled[q]),
                stat(mlflow[q]) if mlflow is not None else None,
                target,
                note=", ".join(notes) + " (median CPU time of the process).",
            )
        )
    return rows


def _rate(side: Result) -> Stat:
    return Stat.of([side["rate"]], "higher")


def compare_search(p: dict[str, Any], mled: Result, mlflow: Result | None) -> list[Row]:
    """q1-q4 per store and size, then creation rates."""
    rows: list[Row] = []
    for store, results in mled["stores"].items():
        label = LABELS.get(store, store)
        peer = mlflow if store == "sqlite" else None
        large, equal = results["large"], results["equal"]
        rows += _query_rows(label, mled["sizes"]["large"], large, None, True, store)
        rows += _query_rows(label, mled["sizes"]["equal"], equal, peer, False, store)
        one = results["one_at_a_time"]
        sqlite = store == "sqlite"
        rows.append(
            Row(
                f"create {label}",
                f"one log_experiment call per experiment ({one['experiments']:,})",
                "experiments/s",
                "higher",
                _rate(one),
                _rate(peer["create"]) if peer else None,
                None,
                note="Each call is one durable transaction (20 params, 10 final metrics as "
                "one-point histories, 5 tags, audit events) that stages the experiment; "
                "creations write the staged rows in batches (mled.service.staging). MLflow: "
                "create_run + log_batch + set_terminated per run, while loading its 10,000 runs.",
            )
        )
        rows.append(
            Row(
                f"create {label}",
                "the same, until the first search has found every one",
                "experiments/s",
                "higher",
                Stat.of([one["rate_with_first_read"]], "higher"),
                _rate(peer["create"]) if peer else None,
                Target(">= 2,000/s", lambda r: r.mled is not None and r.mled.median >= 2000)
                if sqlite
                else None,
                note=f"The calls' time plus the first search's ({one['first_read_s'] * 1e3:,.0f} "
                "ms), which writes the experiments still staged: every row written and indexed.",
            )
        )
        sdk_bulk = results["sdk_bulk"]
        rows.append(
            Row(
                f"create {label}",
                f"bulk log_experiments, one SDK call ({sdk_bulk['experiments']:,})",
                "experiments/s",
                "higher",
                _rate(sdk_bulk),
                None,
                None,
                note="Client.log_experiments with every experiment in one call, into a fresh "
                "store: the SDK's argument forms, then import_many; compare import_many at "
                f"{equal['import']['experiments']:,}: {equal['import']['rate']:,.0f}/s.",
            )
        )
        bulk = large["import"]
        rows.append(
            Row(
                f"create {label}",
                f"bulk import_many ({bulk['experiments']:,})",
                "experiments/s",
                "higher",
                _rate(bulk),
                None,
                Target(">= 5,000/s", lambda r: r.mled is not None and r.mled.median >= 5000)
                if sqlite
                else None,
                note="ExperimentService.import_many, 5,000 experiments per transaction, one "
                "audit event per experiment; includes validation and encoding.",
            )
        )
    return rows
