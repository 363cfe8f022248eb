"""``mled experiments``: list experiments, show one in full, search, import.

Example:
    $ mled experiments list --project vision --limit 5
    $ mled experiments show 0190c7e2-4b1a
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from mled.cli.context import (
    CommandContext,
    DebugOption,
    JsonOption,
    StoreOption,
    command_group,
)
from mled.cli.experiment_import import import_experiments
from mled.cli.experiment_views import (
    DEFAULT_METRIC_COLUMNS,
    experiment_detail,
    experiment_summary,
    experiments_table,
    pick_metric_keys,
    render_experiment,
)
from mled.cli.output import note
from mled.cli.search import search_experiments
from mled.entities import Experiment

DEFAULT_LIMIT = 20


def build() -> typer.Typer:
    """The ``experiments`` command group."""
    app = command_group("List, show, search and import experiments.")
    app.command("list")(list_experiments)
    app.command("show")(show_experiment)
    app.command("search")(search_experiments)
    app.command("import")(import_experiments)
    return app


def list_experiments(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show at most this many.")
    ] = DEFAULT_LIMIT,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="Metric column to show (repeatable). Default: the "
            f"{DEFAULT_METRIC_COLUMNS} metrics most of the listed experiments have.",
        ),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List experiments, newest first.

    IDs are shortened to the shortest unique prefix (at least 13 characters); any unique
    prefix works wherever an ID is expected. --json prints full IDs and every param,
    metric and tag.

    Example: mled experiments list --project vision --limit 5 --metric loss
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        experiments = client.list_experiments(project, limit=limit)
        cli.emit(
            [experiment_summary(e) for e in experiments],
            lambda out: _print_list(experiments, metric, out),
        )


def show_experiment(
    ctx: typer.Context,
    experiment_id: Annotated[
        str, typer.Argument(metavar="ID", help="Experiment ID or a unique prefix of one.")
    ],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show one experiment: params, metrics, tags, source, command, environment, seeds.

    Example: mled experiments show 0190c7e2-4b1a
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        experiment = client.get_experiment(experiment_id)
        cli.emit(experiment_detail(experiment), lambda out: render_experiment(experiment, out))


def _print_list(experiments: list[Experiment], metrics: list[str] | None, out: Console) -> None:
    if not experiments:
        out.print(note("no experiments found"))
        return
    keys = metrics or pick_metric_keys((e.metrics for e in experiments), DEFAULT_METRIC_COLUMNS)
    out.print(experiments_table(experiments, keys, out))
