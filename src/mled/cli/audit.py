"""``mled audit``: check that the audit log and the metric values it covers are untampered.

Example:
    $ mled audit verify
    audit log intact: 42 events, 17 metric chunks verified
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

from mled.cli.context import (
    CommandContext,
    DebugOption,
    JsonOption,
    StoreOption,
    command_group,
)
from mled.cli.errors import EXIT_FAILURE, error_console
from mled.entities import AuditProblem, AuditReport


def build() -> typer.Typer:
    """The ``audit`` command group."""
    app = command_group("Verify the hash-chained audit log.")
    app.command("verify")(verify)
    return app


def verify(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Recompute the audit hash chain and every metric chunk digest.

    Exits with 0 and one summary line when the log is intact; with 1 and one line per
    problem (naming the first bad event, or the experiment and metric whose values changed)
    when it is not.

    Example: mled audit verify
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        report = client.verify_audit()
        cli.emit(report, lambda out: _print_report(report, out))
    if not report.ok:
        raise typer.Exit(EXIT_FAILURE)


def problem_line(problem: AuditProblem) -> str:
    """One problem as one line: its kind, then what is wrong and where.

    Example:
        >>> problem_line(AuditProblem(kind="altered", seq=3, message="event 3 was altered"))
        'altered: event 3 was altered'
    """
    return f"{problem.kind}: {problem.message}"


def _print_report(report: AuditReport, out: Console) -> None:
    if report.ok:
        out.print(
            Text.assemble(
                ("audit log intact", "bold green"),
                f": {report.events_checked} events, {report.chunks_checked} metric chunks verified",
            )
        )
        return
    for problem in report.problems:
        out.print(Text(problem_line(problem), style="red"), soft_wrap=True)
    error_console().print(
        f"audit verification failed: {len(report.problems)} problem(s) in "
        f"{report.events_checked} events and {report.chunks_checked} metric chunks",
        markup=False,
    )
