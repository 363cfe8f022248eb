"""``mled login``, ``mled logout`` and ``mled sync``: credentials for a server, and the spool.

Register on the root app with ``register(app)`` (top-level commands), or use ``build()`` as a
standalone app.

Example:
    $ mled login https://mled.example.com --username alice
    Password:
    logged in to https://mled.example.com as alice; token saved in ~/.mled/credentials
    $ mled sync
    replayed 1204 spooled write(s); nothing left to replay
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mled.cli.context import CommandContext, DebugOption, JsonOption
from mled.cli.output import note
from mled.settings import Settings

if TYPE_CHECKING:
    from mled.sdk.http import SyncReport

UrlArgument = Annotated[str, typer.Argument(metavar="URL", help="The server, e.g. https://host.")]


def register(app: typer.Typer) -> None:
    """Add ``login``, ``logout`` and ``sync`` to ``app`` as top-level commands."""
    app.command("login")(login)
    app.command("logout")(logout)
    app.command("sync")(sync)


def build() -> typer.Typer:
    """A standalone app with the three commands (for tests, or ``add_typer``)."""
    app = typer.Typer(help="Server credentials and the offline spool.", no_args_is_help=True)
    register(app)
    return app


def login(
    ctx: typer.Context,
    url: UrlArgument,
    username: Annotated[
        str | None,
        typer.Option("--username", "-u", help="Default: $MLED_USER, else your OS user name."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Log in to an MLED server and save its API token for this URL (file mode 0600).

    Later SDK and CLI calls to the URL use the token; MLED_TOKEN, when set, overrides it.

    Example: mled login https://mled.example.com --username alice
    """
    from mled.sdk.credentials import login as do_login
    from mled.sdk.credentials import server_key

    cli = CommandContext.create(ctx, None, as_json, debug)
    with cli.guard():
        settings = Settings.from_env()
        user = username or settings.username
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = typer.prompt("Password", hide_input=True)
        path = do_login(url, user, password, settings=settings)
        base = server_key(url)
        cli.emit(
            {"url": base, "username": user, "credentials": str(path)},
            lambda out: out.print(
                f"logged in to {base} as {user}; token saved in {path}", markup=False
            ),
        )


def logout(
    ctx: typer.Context,
    url: UrlArgument,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Forget the token saved for a server (it stays valid until revoked or expired).

    Example: mled logout https://mled.example.com
    """
    from mled.sdk.credentials import forget_token, server_key

    cli = CommandContext.create(ctx, None, as_json, debug)
    with cli.guard():
        settings = Settings.from_env()
        removed = forget_token(url, path=settings.credentials_path)
        base = server_key(url)
        text = f"forgot the token for {base}" if removed else f"no token was saved for {base}"
        cli.emit({"url": base, "removed": removed}, lambda out: out.print(text, markup=False))


def sync(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Argument(metavar="[URL]", help="Only replay writes spooled for this server."),
    ] = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Replay writes spooled while a server was unreachable ($MLED_HOME/spool), in order.

    Each write is applied exactly once; files a running process still holds are left to it.

    Example: mled sync https://mled.example.com
    """
    from mled.sdk.http import sync as do_sync

    cli = CommandContext.create(ctx, None, as_json, debug)
    with cli.guard():
        report = do_sync(url, settings=Settings.from_env())

        def render(out: Console) -> None:
            _print_sync(report, out)

        data = {
            "replayed": report.replayed,
            "remaining": report.remaining,
            "rejected": report.rejected,
            "busy": [str(p) for p in report.busy],
            "files": [str(f.path) for f in report.files],
        }
        cli.emit(data, render)
    if report.remaining:
        raise typer.Exit(1)


def _print_sync(report: SyncReport, out: Console) -> None:
    if not report.files and not report.busy:
        out.print(note("nothing is spooled"))
        return
    left = (
        f"{report.remaining} still spooled (the server is unreachable; run again later)"
        if report.remaining
        else "nothing left to replay"
    )
    out.print(f"replayed {report.replayed} spooled write(s); {left}", markup=False)
    if report.rejected:
        out.print(
            f"{report.rejected} write(s) were refused by the server and kept under spool/rejected/",
            markup=False,
        )
    for path in report.busy:
        out.print(note(f"{path} belongs to a running process, which replays it itself"))
