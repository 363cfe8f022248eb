"""How experiments look: the list table, the details view, and their JSON forms.

Example:
    >>> pick_metric_keys([{"loss": 0.1, "acc": 0.9}, {"loss": 0.2}], limit=1)
    ['loss']
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mled.cli.output import (
    Column,
    cell,
    data_table,
    details_grid,
    duration_text,
    fitted_table,
    heading,
    local_time,
    note,
    number_text,
    short_ids,
    status_text,
    value_text,
)
from mled.entities import Experiment

DEFAULT_METRIC_COLUMNS = 3
"""Metric columns in ``mled experiments list`` when ``--metric`` is not given."""

_SUMMARY_FIELDS = (
    "id",
    "name",
    "project",
    "status",
    "owner",
    "created_at",
    "started_at",
    "ended_at",
    "group",
    "parent_id",
    "params",
    "metrics",
    "tags",
)


def experiment_summary(exp: Experiment) -> dict[str, Any]:
    """The JSON object of one row of ``mled experiments list --json``.

    Example:
        >>> sorted(experiment_summary(exp))  # doctest: +SKIP
        ['created_at', 'duration', 'ended_at', 'group', 'id', 'metrics', 'name', ...]
    """
    out = {name: getattr(exp, name) for name in _SUMMARY_FIELDS}
    out["duration"] = exp.duration
    return out


def experiment_detail(exp: Experiment) -> dict[str, Any]:
    """The JSON object of ``mled experiments show --json``: every field of the experiment.

    Example:
        >>> experiment_detail(exp)["metric_summaries"]["loss"]["min"]  # doctest: +SKIP
        0.25
    """
    out = asdict(exp)
    out["duration"] = exp.duration
    return out


def pick_metric_keys(metrics: Iterable[Mapping[str, float]], limit: int) -> list[str]:
    """The ``limit`` metric keys logged by the most experiments (ties in name order)."""
    counts = Counter(key for m in metrics for key in m)
    ranked = sorted(counts, key=lambda key: (-counts[key], key))
    return ranked[:limit]


LIST_DROP_ORDER = ("owner", "created", "project", "duration")
"""Columns of ``mled experiments list`` left out, in this order, on narrow terminals (metric
columns go after these, last one first)."""


def experiments_table(
    experiments: Sequence[Experiment], metric_keys: Sequence[str], console: Console
) -> Table:
    """One row per experiment: short ID, name, project, status, owner, created, duration,
    metrics; fitted to the console's width.

    Example:
        >>> Console().print(experiments_table(experiments, ["loss"], Console()))  # doctest: +SKIP
    """
    columns = [
        Column("id", fixed=True, style="cyan"),
        Column("name"),
        Column("project"),
        Column("status", fixed=True),
        Column("owner"),
        Column("created", fixed=True),
        Column("duration", fixed=True),
        *(Column(key, fixed=True, justify="right") for key in metric_keys),
    ]
    prefixes = short_ids(exp.id for exp in experiments)
    rows = [
        [
            cell(prefixes[exp.id]),
            cell(exp.name),
            cell(exp.project),
            status_text(exp.status),
            cell(exp.owner),
            cell(local_time(exp.created_at, seconds=False)),
            cell(duration_text(exp.duration)),
            *(cell(number_text(exp.metrics.get(key))) for key in metric_keys),
        ]
        for exp in experiments
    ]
    drop = [*LIST_DROP_ORDER[:3], *reversed(metric_keys), LIST_DROP_ORDER[3]]
    return fitted_table(console, columns, rows, drop)


def render_experiment(exp: Experiment, console: Console) -> None:
    """Print every section of one experiment that has content.

    Example:
        >>> render_experiment(client.get_experiment("0190c7e2"), Console())  # doctest: +SKIP
    """
    console.print(Text.assemble(("experiment ", "bold"), (exp.id, "bold cyan")))
    console.print(_overview(exp))
    _section(console, "params", _params_table(exp))
    _section(console, "metrics", _metrics_table(exp))
    _section(console, "tags", _tags_table(exp))
    _section(console, "source", _source_grid(exp.source))
    _section(console, "command", _command_grid(exp.command))
    _section(console, "environment", _environment_grid(exp.environment))
    _section(console, "seeds", _seeds_grid(exp.seeds))
    if exp.error:
        console.print(heading("error"))
        console.print(Text(exp.error, style="red"))


def _section(console: Console, title: str, body: Table | Text | None) -> None:
    if body is not None:
        console.print(heading(title))
        console.print(body)


def _overview(exp: Experiment) -> Table:
    return details_grid(
        [
            ("name", exp.name),
            ("project", exp.project),
            ("status", status_text(exp.status)),
            ("owner", exp.owner),
            ("created", local_time(exp.created_at)),
            ("started", local_time(exp.started_at)),
            ("ended", local_time(exp.ended_at)),
            ("duration", duration_text(exp.duration)),
            ("group", exp.group),
            ("parent", exp.parent_id),
            ("reproduces", exp.reproduction_of),
            ("notes", exp.notes or None),
        ]
    )


def _params_table(exp: Experiment) -> Table | Text:
    if not exp.params:
        return note("no params")
    table = data_table("key", "value")
    for key in sorted(exp.params):
        table.add_row(cell(key), cell(value_text(exp.params[key])))
    return table


def _metrics_table(exp: Experiment) -> Table | Text:
    if not exp.metrics and not exp.metric_summaries:
        return note("no metrics")
    table = data_table(
        "key", "last", "min", "max", "count", "last step", fixed=("last", "min", "max", "count")
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for key in sorted(set(exp.metrics) | set(exp.metric_summaries)):
        summary = exp.metric_summaries.get(key)
        if summary is None:
            table.add_row(cell(key), cell(number_text(exp.metrics[key])), *[cell(None)] * 4)
            continue
        table.add_row(
            cell(key),
            cell(number_text(summary.last)),
            cell(number_text(summary.min)),
            cell(number_text(summary.max)),
            cell(summary.count),
            cell(summary.last_step),
        )
    return table


def _tags_table(exp: Experiment) -> Table | Text:
    if not exp.tags:
        return note("no tags")
    table = data_table("key", "value")
    for key in sorted(exp.tags):
        table.add_row(cell(key), cell(exp.tags[key]))
    return table


def _source_grid(source: Mapping[str, Any] | None) -> Table | None:
    if not source:
        return None
    commit = source.get("commit")
    dirty = source.get("dirty")
    diff = source.get("diff")
    return details_grid(
        [
            ("vcs", source.get("vcs")),
            ("commit", f"{commit}{' (uncommitted changes)' if dirty else ''}" if commit else None),
            ("branch", source.get("branch")),
            ("remote", source.get("remote_url")),
            ("entry", source.get("entry_path")),
            ("diff", f"{len(diff.splitlines())} lines stored" if isinstance(diff, str) else None),
        ]
    )


def _command_grid(command: Mapping[str, Any] | None) -> Table | None:
    if not command:
        return None
    argv = command.get("argv")
    return details_grid(
        [
            ("argv", shlex.join(str(a) for a in argv) if isinstance(argv, list) else None),
            ("entry point", command.get("entry_point")),
            ("cwd", command.get("cwd")),
            ("executable", command.get("executable")),
        ]
    )


def environment_summary(env: Mapping[str, Any]) -> list[tuple[str, object]]:
    """The few environment facts worth a glance: python, platform, packages, host, hardware.

    Example:
        >>> env = {"python": {"version": "3.11.7", "implementation": "CPython"},
        ...        "packages": {"numpy": "2.0", "torch": "2.4"}}
        >>> summary = dict(environment_summary(env))
        >>> summary["python"], summary["packages"], summary["platform"]
        ('3.11.7 (CPython)', '2 installed', None)
    """
    python = _mapping(env.get("python"))
    os_info = _mapping(env.get("os"))
    packages = env.get("packages")
    cpu = _mapping(env.get("cpu"))
    gpus = _mapping(env.get("gpu")).get("devices")
    version = python.get("version")
    impl = python.get("implementation")
    return [
        ("python", f"{version} ({impl})" if version and impl else version),
        ("platform", os_info.get("platform") or os_info.get("system")),
        ("packages", f"{len(packages)} installed" if isinstance(packages, Mapping) else None),
        ("host", env.get("hostname")),
        ("cpus", cpu.get("count")),
        ("gpus", len(gpus) if isinstance(gpus, list) and gpus else None),
    ]


def _environment_grid(env: Mapping[str, Any] | None) -> Table | None:
    return details_grid(environment_summary(env)) if env else None


def _seeds_grid(seeds: Mapping[str, Any] | None) -> Table | None:
    if not seeds:
        return None
    return details_grid([(key, value_text(value)) for key, value in seeds.items()])


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
