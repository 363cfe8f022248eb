"""``mled db``: the schema revision of a store, and upgrading it.

A store whose schema is older than this MLED is refused when opened, with a hint naming
``mled db upgrade``; back the store up, then run it.

Example:
    $ mled db status --store sqlite:////data/mled.db
    $ mled db upgrade --store sqlite:////data/mled.db
    upgraded sqlite:////data/mled.db: 0001 -> 0005
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from mled.cli.output import details_grid

if TYPE_CHECKING:
    from mled.service.maintenance import StoreStatus


def build() -> typer.Typer:
    """The ``db`` command group."""
    app = command_group("Check and upgrade the store's schema.")
    app.command("status")(db_status)
    app.command("upgrade")(db_upgrade)
    return app


def db_status(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show the store's schema revision and whether this MLED can use it.

    Exits with 1 when the store needs attention (outdated, newer, or not an MLED store).

    Example: mled db status --json
    """
    from mled.service.maintenance import store_status

    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.guard():
        status = store_status(cli.store_uri())
        cli.emit(_status_dict(status), lambda out: _print_status(status, out))
    if not status.usable:
        if not cli.as_json and status.state == "outdated":
            error_console().print(
                f"hint: back up the store, then run: mled db upgrade --store '{status.uri}'",
                markup=False,
            )
        raise typer.Exit(EXIT_FAILURE)


def db_upgrade(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Apply every pending schema migration to the store (back it up first).

    An empty database gets the full schema; a current one is left unchanged.

    Example: mled db upgrade --store postgresql://mled@db.internal/mled
    """
    from mled.service.maintenance import display_uri, upgrade_store

    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.guard():
        uri = cli.store_uri()
        before, after = upgrade_store(uri)
        shown = display_uri(uri)
        cli.emit(
            {"uri": shown, "before": before, "after": after},
            lambda out: out.print(_upgrade_text(before, after, shown)),
        )


def _upgrade_text(before: str | None, after: str, uri: str) -> Text:
    if before == after:
        return Text(f"{uri} is up to date (schema {after}); nothing to do")
    if before is None:
        return Text(f"created the schema of {uri}: (empty) -> {after}")
    return Text(f"upgraded {uri}: {before} -> {after}")


def _status_dict(status: StoreStatus) -> dict[str, object]:
    return {
        "uri": status.uri,
        "dialect": status.dialect,
        "revision": status.revision,
        "head": status.head,
        "state": status.state,
        "usable": status.usable,
    }


def _print_status(status: StoreStatus, out: Console) -> None:
    style = "green" if status.usable else "bold red"
    out.print(
        details_grid(
            [
                ("store", status.uri),
                ("dialect", status.dialect),
                ("schema", status.revision or "(none)"),
                ("required", status.head),
                ("state", Text(status.description, style=style)),
            ]
        )
    )
