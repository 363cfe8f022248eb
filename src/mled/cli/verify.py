"""``mled verify``: re-hash stored artifacts and dataset files; report missing or corrupted ones.

Example:
    $ mled verify --all
    artifacts intact: 1,204 objects (3.1 GiB) verified
    $ mled verify 0190c7e2-4b1a
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from mled.artifacts.entities import IntegrityReport
from mled.cli.artifacts import size_text
from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption
from mled.cli.errors import EXIT_FAILURE, error_console


def build() -> typer.Typer:
    """``verify`` as a standalone app (``mled verify`` once registered)."""
    app = typer.Typer(help="Verify stored artifacts and dataset files.")
    app.command("verify")(verify)
    return app


def verify(
    ctx: typer.Context,
    experiment_id: Annotated[
        str | None,
        typer.Argument(metavar="ID", help="Only this experiment's artifacts and datasets."),
    ] = None,
    check_all: Annotated[
        bool, typer.Option("--all", help="Every artifact and stored dataset you can read.")
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Re-hash stored objects and report each missing or corrupted one by name.

    Exits with 0 when every object matches its SHA-256, with 1 and one line per problem
    (naming the artifacts and dataset files that use the object) otherwise.

    Example: mled verify --all
    """
    if (experiment_id is None) == (not check_all):
        raise typer.BadParameter("give an experiment ID or --all (not both)")
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        report = client.verify_artifacts(experiment_id)
        cli.emit(report, lambda out: _print_report(report, out))
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


def _print_report(report: IntegrityReport, out: Console) -> None:
    summary = f"{report.objects_checked} objects ({size_text(report.bytes_checked)}) verified"
    if report.ok:
        out.print(Text.assemble(("artifacts intact", "bold green"), f": {summary}"))
        return
    for problem in report.problems:
        out.print(Text(f"{problem.kind}: {problem.message}", style="red"), soft_wrap=True)
        for name in problem.names[1:]:
            out.print(Text(f"  also used by {name}"), soft_wrap=True)
    error_console().print(
        f"verification failed: {len(report.problems)} problem(s) among {summary}", markup=False
    )
