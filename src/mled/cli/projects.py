"""``mled projects``: list and create projects.

Example:
    $ mled projects create vision --description "image models"
    created project vision (0190c7e2-4b1a-7c3d-9e8f-0a1b2c3d4e5f)
    $ mled projects list --json
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from mled.cli.context import (
    CommandContext,
    DebugOption,
    JsonOption,
    StoreOption,
    command_group,
)
from mled.cli.output import cell, data_table, local_time, note
from mled.entities import Project


def build() -> typer.Typer:
    """The ``projects`` command group."""
    app = command_group("List and create projects.")
    app.command("list")(list_projects)
    app.command("create")(create_project)
    return app


def list_projects(
    ctx: typer.Context,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List the projects you can read.

    Example: mled projects list --json
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        projects = client.list_projects()
        cli.emit([project_dict(p) for p in projects], lambda out: _print_projects(projects, out))


def create_project(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Unique project name.")],
    description: Annotated[
        str, typer.Option("--description", "-d", help="What the project is about.")
    ] = "",
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Create a project (embedded stores: the store's first user is its admin).

    Example: mled projects create vision --description "image models"
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        project = client.create_project(name, description)
        cli.emit(
            project_dict(project),
            lambda out: out.print(f"created project {project.name} ({project.id})", markup=False),
        )


def project_dict(project: Project) -> dict[str, Any]:
    """The JSON object of a project: ``id``, ``name``, ``description``, ``created_at``.

    Example:
        >>> project_dict(client.create_project("vision"))["name"]  # doctest: +SKIP
        'vision'
    """
    return {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at,
    }


def _print_projects(projects: list[Project], out: Console) -> None:
    if not projects:
        out.print(note("no projects yet; create one with `mled projects create NAME`"))
        return
    table = data_table("name", "description", "created", "id", fixed=("created", "id"))
    for p in projects:
        table.add_row(
            cell(p.name, "bold"),
            cell(p.description),
            cell(local_time(p.created_at)),
            cell(p.id, "dim"),
        )
    out.print(table)
