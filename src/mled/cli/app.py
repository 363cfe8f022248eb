"""The ``mled`` application: global options and the command groups.

Example:
    $ mled --help
    $ mled --store sqlite:////data/mled.db experiments list --json
"""

from __future__ import annotations

from typing import Annotated

import typer

from mled.cli import (
    artifacts,
    audit,
    auth,
    datasets,
    db,
    experiments,
    lineage,
    models,
    projects,
    search,
    server,
    tokens,
    users,
    verify,
)
from mled.cli.context import DebugOption, GlobalOptions, JsonOption, StoreOption

HELP = """MLED, the Machine Learning Experiment Database.

Exit codes: 0 success, 1 failure (not found, conflict, store problem, audit problems),
2 usage error or invalid input, 130 interrupted.
"""


def build_app() -> typer.Typer:
    """Assemble the ``mled`` command with every command group.

    Example:
        >>> from typer.testing import CliRunner
        >>> CliRunner().invoke(build_app(), ["--version"]).output
        'mled 0.1.0\\n'
    """
    app = typer.Typer(
        name="mled",
        help=HELP,
        no_args_is_help=True,
        rich_markup_mode="markdown",
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    app.add_typer(projects.build(), name="projects")
    app.add_typer(experiments.build(), name="experiments")
    app.add_typer(db.build(), name="db")
    app.add_typer(audit.build(), name="audit")
    app.add_typer(users.build(), name="users")
    app.add_typer(tokens.build(), name="tokens")
    server.register(app)
    auth.register(app)
    app.add_typer(artifacts.build(), name="artifacts")
    app.add_typer(datasets.build(), name="datasets")
    app.add_typer(models.build(), name="models")
    app.command("lineage")(lineage.lineage)
    app.command("verify")(verify.verify)
    app.command("compare")(search.compare)
    return app


def _print_version(value: bool) -> None:
    if value:
        from mled import __version__

        typer.echo(f"mled {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """MLED, the Machine Learning Experiment Database."""
    ctx.obj = GlobalOptions(store=store, as_json=as_json, debug=debug)


def main() -> None:
    """Entry point of the ``mled`` console script and of ``python -m mled``."""
    build_app()(prog_name="mled")
