"""``mled tokens``: API tokens for scripts and the SDK (shown once, stored only hashed).

Example:
    $ mled tokens create ci --days 30
    $ mled tokens list
    $ mled tokens revoke 3
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption, command_group
from mled.cli.output import cell, data_table, local_time
from mled.entities import TokenInfo


def build() -> typer.Typer:
    """The ``tokens`` command group."""
    app = command_group("Create, list and revoke API tokens.")
    app.command("create")(create_token)
    app.command("list")(list_tokens)
    app.command("revoke")(revoke_token)
    return app


def create_token(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. `ci`.")],
    days: Annotated[
        float, typer.Option("--days", help="Lifetime in days (0: never expires).")
    ] = 90,
    user: Annotated[
        str | None, typer.Option("--user", help="Create it for another user (admins).")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Create a token; it is printed once and never shown again.

    Example: mled tokens create ci --days 30
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        issued = client.backend.create_token(name, days=days or None, username=user)
        data = {**token_dict(issued.info), "token": issued.token}

        def render(out: Console) -> None:
            out.print(issued.token, markup=False)
            out.print(f"token {issued.info.id} ({name}); it will not be shown again", style="dim")

        cli.emit(data, render)


def list_tokens(
    ctx: typer.Context,
    all_users: Annotated[bool, typer.Option("--all", help="Every user's tokens (admins).")] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List your tokens (never their secrets).

    Example: mled tokens list --all
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        tokens = client.backend.list_tokens(all_users=all_users)
        cli.emit([token_dict(t) for t in tokens], lambda out: _print_tokens(tokens, out))


def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token's id from `mled tokens list`.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Revoke a token at once.

    Example: mled tokens revoke 3
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        client.backend.revoke_token(token_id)
        cli.emit(
            {"id": token_id, "revoked": True}, lambda out: out.print(f"revoked token {token_id}")
        )


def _time(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


def token_dict(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "prefix": t.prefix,
        "username": t.username,
        "created_at": _time(t.created_at),
        "expires_at": _time(t.expires_at),
        "revoked": t.revoked,
        "last_used_at": _time(t.last_used_at),
    }


def _print_tokens(tokens: list[TokenInfo], out: Console) -> None:
    table = data_table("id", "name", "user", "prefix", "expires", "state")
    now = datetime.now(tz=UTC).timestamp()
    for t in tokens:
        expired = t.expires_at is not None and t.expires_at <= now
        state = "revoked" if t.revoked else ("expired" if expired else "active")
        table.add_row(
            cell(str(t.id)),
            cell(t.name, "bold"),
            cell(t.username),
            cell(t.prefix + "…", "dim"),
            cell(local_time(_time(t.expires_at)) if t.expires_at else "never"),
            cell(state, "green" if state == "active" else "red"),
        )
    out.print(table)
