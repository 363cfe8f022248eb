"""What every command shares: the global options, the client they select, error handling.

``--store``, ``--json`` and ``--debug`` are accepted both before the command group
(``mled --json experiments list``) and after the command (``mled experiments list --json``);
a value given after the command wins.

Example:
    >>> options = GlobalOptions(store="sqlite:////tmp/a.db").merged(None, True, False)
    >>> options.store, options.as_json, options.debug
    ('sqlite:////tmp/a.db', True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Annotated, Any

import typer
from rich.console import Console

from mled.cli.errors import handle_errors
from mled.cli.output import print_json, stdout_console
from mled.sdk.client import Client
from mled.settings import Settings

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="URI",
        help="Store to use: sqlite:///path.db, postgresql://user@host/db or a path. "
        "Default: $MLED_TRACKING_URI, else the embedded store under $MLED_HOME or ~/.mled.",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON (full IDs, ISO 8601 times)."),
]
DebugOption = Annotated[
    bool,
    typer.Option("--debug", help="Show the full traceback when something fails."),
]


@dataclass(frozen=True, slots=True)
class GlobalOptions:
    """The options every command accepts."""

    store: str | None = None
    as_json: bool = False
    debug: bool = False

    def merged(self, store: str | None, as_json: bool, debug: bool) -> GlobalOptions:
        """These options overridden by those given after a command."""
        return GlobalOptions(
            store=store or self.store,
            as_json=as_json or self.as_json,
            debug=debug or self.debug,
        )


@dataclass(frozen=True, slots=True)
class CommandContext:
    """One command invocation: its options, and helpers to run it and print its result.

    Example:
        >>> cli = CommandContext(GlobalOptions(store="sqlite:////tmp/a.db"))
        >>> with cli.session() as client:  # doctest: +SKIP
        ...     names = [p.name for p in client.list_projects()]
        ...     cli.emit(names, lambda console: console.print(", ".join(names)))
    """

    options: GlobalOptions

    @classmethod
    def create(
        cls, ctx: typer.Context, store: str | None, as_json: bool, debug: bool
    ) -> CommandContext:
        """Combine the options given before the command group with the command's own."""
        root = ctx.find_root().obj
        base = root if isinstance(root, GlobalOptions) else GlobalOptions()
        return cls(base.merged(store, as_json, debug))

    @property
    def as_json(self) -> bool:
        return self.options.as_json

    def settings(self) -> Settings:
        """Settings from the environment, with the tracking URI given by ``--store``."""
        settings = Settings.from_env()
        if self.options.store:
            settings = replace(settings, tracking_uri=self.options.store)
        return settings

    def store_uri(self) -> str:
        """The database URI of the selected store (a plain path becomes a SQLite URI)."""
        from mled.sdk.connect import normalize_uri

        return normalize_uri(self.settings().store_uri)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Report any failure inside the block as one error line and exit non-zero."""
        with handle_errors(debug=self.options.debug):
            yield

    @contextmanager
    def session(self) -> Iterator[Client]:
        """A client on the selected store, closed at the end; failures are reported."""
        with self.guard():
            client = Client(settings=self.settings())
            try:
                yield client
            finally:
                client.close()

    def emit(self, data: Any, render: Callable[[Console], None]) -> None:
        """Print ``data`` as JSON with ``--json``, else call ``render`` with a console."""
        if self.options.as_json:
            print_json(data)
        else:
            render(stdout_console())


def command_group(help_text: str) -> typer.Typer:
    """A command group (``mled projects``, ...) shown with its help when called bare."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode="markdown")
