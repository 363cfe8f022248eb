"""``mled users``: create, list, disable and enable users; roles per project; passwords.

Example:
    $ mled users create bob --password-stdin < bob.pass
    $ mled users set-role bob vision data_scientist
    $ mled users list
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption, command_group
from mled.cli.output import cell, data_table
from mled.entities import User

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
]


def build() -> typer.Typer:
    """The ``users`` command group."""
    app = command_group("Manage users and their roles per project (admins).")
    app.command("create")(create_user)
    app.command("list")(list_users)
    app.command("disable")(disable_user)
    app.command("enable")(enable_user)
    app.command("set-role")(set_role)
    app.command("set-password")(set_password)
    return app


def read_password(from_stdin: bool) -> str:
    """The new password: the first line of stdin, or typed twice at a hidden prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def create_user(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="Unique user name.")],
    admin: Annotated[bool, typer.Option("--admin", help="Make the user a global admin.")] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Create without a password (tokens only).")
    ] = False,
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Create a user (asks for a password unless --no-password).

    Example: mled users create bob --admin
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.guard():
        password = None if no_password else read_password(password_stdin)
    with cli.session() as client:
        user = client.backend.create_user(username, password=password, admin=admin)
        cli.emit(user_dict(user), lambda out: out.print(f"created user {user.username}"))


def list_users(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List every user.

    Example: mled users list --json
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        users = client.backend.list_users()
        cli.emit([user_dict(u) for u in users], lambda out: _print_users(users, out))


def disable_user(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user to disable.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Disable a user: their tokens stop working and they cannot log in.

    Example: mled users disable bob
    """
    _set_disabled(ctx, username, True, store, as_json, debug)


def enable_user(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user to enable again.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Enable a disabled user.

    Example: mled users enable bob
    """
    _set_disabled(ctx, username, False, store, as_json, debug)


def _set_disabled(
    ctx: typer.Context,
    username: str,
    disabled: bool,
    store: str | None,
    as_json: bool,
    debug: bool,
) -> None:
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        client.backend.set_user_disabled(username, disabled)
        word = "disabled" if disabled else "enabled"
        cli.emit(
            {"username": username, "disabled": disabled},
            lambda out: out.print(f"{word} user {username}"),
        )


def set_role(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user.")],
    project: Annotated[str, typer.Argument(help="The project.")],
    role: Annotated[
        str,
        typer.Argument(
            help="admin, ml_engineer, data_scientist, project_manager, auditor, or none."
        ),
    ],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Give a user a role in a project (`none` removes the membership).

    Example: mled users set-role bob vision data_scientist
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    new_role = None if role.lower() == "none" else role
    with cli.session() as client:
        client.backend.set_role(project, username, new_role)
        cli.emit(
            {"username": username, "project": project, "role": new_role},
            lambda out: out.print(f"{username} in {project}: {new_role or 'no role'}"),
        )


def set_password(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="The user (yourself, or anyone for admins).")],
    password_stdin: PasswordStdin = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Set a user's password.

    Example: mled users set-password bob
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.guard():
        password = read_password(password_stdin)
    with cli.session() as client:
        client.backend.set_password(username, password)
        cli.emit({"username": username}, lambda out: out.print(f"password set for {username}"))


def user_dict(user: User) -> dict[str, Any]:
    return {"username": user.username, "is_admin": user.is_admin, "disabled": user.disabled}


def _print_users(users: list[User], out: Console) -> None:
    table = data_table("user", "admin", "disabled")
    for u in users:
        table.add_row(
            cell(u.username, "bold"),
            cell("yes" if u.is_admin else ""),
            cell("disabled" if u.disabled else "", "red"),
        )
    out.print(table)
