"""``mled experiments search`` and ``mled compare``: the query language and side-by-side diffs.

Example:
    $ mled experiments search "metrics.acc > 0.9 and params.opt = 'adam'" --sort "metrics.acc desc"
    $ mled experiments search "tags.team = 'nlp'" --columns params.lr,metrics.acc --format csv
    $ mled compare 0190c7e2-4b1a 0190c7e2-5c2b --all
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption
from mled.cli.experiment_views import (
    DEFAULT_METRIC_COLUMNS,
    experiment_summary,
    experiments_table,
    pick_metric_keys,
)
from mled.cli.output import (
    Column,
    cell,
    fitted_table,
    jsonable,
    local_time,
    note,
    number_text,
    print_json,
    short_ids,
    status_text,
    stdout_console,
    value_text,
)
from mled.entities import Comparison, Experiment
from mled.sdk.search import flat_columns, flat_row

DEFAULT_SEARCH_LIMIT = 100
ARROWS = {"min": "↓", "max": "↑"}


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class CompareFormat(StrEnum):
    table = "table"
    json = "json"


def search_experiments(
    ctx: typer.Context,
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help="A query, e.g. \"metrics.acc > 0.9 and params.opt = 'adam'\" "
            "(docs/query-language.md); empty: every experiment.",
        ),
    ] = "",
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            "-c",
            help="Comma-separated columns, e.g. name,params.lr,metrics.acc,tags.team.",
        ),
    ] = None,
    sort: Annotated[
        list[str] | None,
        typer.Option("--sort", "-s", help='Sort key (repeatable), e.g. "metrics.acc desc".'),
    ] = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", min=0, help="Show at most this many; 0: all of them."),
    ] = DEFAULT_SEARCH_LIMIT,
    output: Annotated[
        Format, typer.Option("--format", "-f", help="table, csv or json.")
    ] = Format.table,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Find experiments with the query language, in the query's order.

    Without --columns the table shows the columns of `mled experiments list`, CSV every
    attribute, param, metric and tag, and JSON the objects of `experiments list --json`.
    A query that does not parse is shown with a caret under the bad token.

    Example: mled experiments search "metrics.acc > 0.9" --sort "metrics.acc desc" -n 10
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    chosen = [c.strip() for c in (columns or "").split(",") if c.strip()]
    fmt = Format.json if cli.as_json else output
    with cli.session() as client:
        found = client.search(query, project=project, order_by=sort, limit=limit or None)
        if fmt is Format.json:
            print_json([_selected(e, chosen) if chosen else experiment_summary(e) for e in found])
        elif fmt is Format.csv:
            write_csv(found, chosen or flat_columns(found))
        else:
            _render_table(found, chosen, stdout_console())


def _selected(exp: Experiment, columns: Sequence[str]) -> dict[str, Any]:
    row = flat_row(exp)
    return {c: row.get(c) for c in columns}


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return value_text(value)
    plain = jsonable(value)
    return plain if isinstance(plain, str | int | float) else value_text(value)


def write_csv(experiments: Sequence[Experiment], columns: Sequence[str]) -> None:
    """Write ``columns`` of each experiment as CSV on stdout (times in ISO 8601, UTC).

    Example:
        >>> write_csv([], ["id", "params.lr"])
        id,params.lr
    """
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for exp in experiments:
        row = flat_row(exp)
        writer.writerow([_csv_value(row.get(c)) for c in columns])


def _render_table(found: Sequence[Experiment], columns: Sequence[str], out: Console) -> None:
    if not found:
        out.print(note("no experiments match"))
        return
    if not columns:
        keys = pick_metric_keys((e.metrics for e in found), DEFAULT_METRIC_COLUMNS)
        out.print(experiments_table(found, keys, out))
        return
    prefixes = short_ids(e.id for e in found)
    spec = [Column(c, fixed=c.startswith(("metrics.", "id"))) for c in columns]
    rows = []
    for exp in found:
        flat = flat_row(exp)
        rows.append([_table_cell(c, flat.get(c), prefixes) for c in columns])
    out.print(fitted_table(out, spec, rows))


def _table_cell(column: str, value: Any, prefixes: dict[str, str]) -> Text:
    if column == "id":
        return cell(prefixes.get(value, value), style="cyan")
    if column == "status":
        return status_text(value)
    if column in ("created", "started", "ended"):
        return cell(local_time(value))
    if column.startswith("metrics.") or column == "duration":
        return cell(number_text(value))
    return cell(None if value is None else value_text(value))


# --- mled compare --------------------------------------------------------------------------


def compare(
    ctx: typer.Context,
    ids: Annotated[
        list[str],
        typer.Argument(metavar="IDS", help="Two or more experiment IDs or unique prefixes."),
    ],
    show_all: Annotated[
        bool, typer.Option("--all", "-a", help="Show every param, not only those that differ.")
    ] = False,
    output: Annotated[
        CompareFormat, typer.Option("--format", "-f", help="table or json.")
    ] = CompareFormat.table,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Compare experiments side by side: params and metric summaries, the best marked.

    Only the params whose values differ are shown unless --all. Each metric shows its last
    value and its min-max range; `*` marks the best last value (lower is better for keys
    containing loss, error, time ...; `↓`/`↑` give the direction).

    Example: mled compare 0190c7e2-4b1a 0190c7e2-5c2b 0190c7e2-6d3c
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        result = client.compare(ids, histories=False)
        if cli.as_json or output is CompareFormat.json:
            print_json(comparison_json(result, show_all))
        else:
            stdout_console().print(comparison_table(result, show_all))


def comparison_json(result: Comparison, show_all: bool) -> dict[str, Any]:
    """The JSON of ``mled compare --format json``."""
    params = result.params if show_all else result.differing_params
    return {
        "experiments": [experiment_summary(e) for e in result.experiments],
        "params": [{"key": p.key, "values": p.values, "differs": p.differs} for p in params],
        "metrics": [
            {
                "key": m.key,
                "direction": m.direction,
                "best": m.best,
                "best_value": m.best_value,
                "summaries": {
                    eid: {"last": s.last, "min": s.min, "max": s.max, "count": s.count}
                    for eid, s in m.summaries.items()
                },
            }
            for m in result.metrics
        ],
    }


def comparison_table(result: Comparison, show_all: bool) -> Table:
    """Rows: attributes, params (differing ones unless ``show_all``), metrics; one column per
    experiment, headed by its short ID."""
    exps = result.experiments
    prefixes = short_ids(e.id for e in exps)
    table = Table(box=None, pad_edge=False, show_edge=False, show_header=True)
    table.add_column("", style="bold", no_wrap=True)
    for exp in exps:
        table.add_column(Text(prefixes[exp.id], style="cyan"), no_wrap=True)
    table.add_row("name", *(cell(e.name) for e in exps))
    table.add_row("status", *(status_text(e.status) for e in exps))
    table.add_row("project", *(cell(e.project) for e in exps))
    params = result.params if show_all else result.differing_params
    label = "params" if show_all else "params (differing)"
    table.add_row(Text(label, style="bold underline"), *([""] * len(exps)))
    if not params:
        table.add_row(note("  none differ" if not show_all else "  none"), *([""] * len(exps)))
    for p in params:
        style = "yellow" if p.differs else ""
        values = [value_text(p.values[e.id]) if e.id in p.values else None for e in exps]
        table.add_row(Text(f"  {p.key}", style=style), *(cell(v) for v in values))
    table.add_row(Text("metrics (last, * best)", style="bold underline"), *([""] * len(exps)))
    for m in result.metrics:
        lasts = []
        ranges = []
        for e in exps:
            s = m.summaries.get(e.id)
            if s is None:
                lasts.append(cell(None))
                ranges.append(cell(None))
                continue
            best = m.best == e.id
            text = number_text(s.last) + (" *" if best else "")
            lasts.append(Text(text, style="bold green" if best else ""))
            ranges.append(Text(f"{number_text(s.min)}..{number_text(s.max)}", style="dim"))
        table.add_row(Text(f"  {m.key} {ARROWS.get(m.direction, '')}"), *lasts)
        table.add_row(Text("    min..max", style="dim"), *ranges)
    return table
