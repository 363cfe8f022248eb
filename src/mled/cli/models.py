"""``mled models``: the model registry (versions from experiments, aliases and their history).

Example:
    $ mled models register 0190c7e2-4b1a models/resnet resnet
    $ mled models alias resnet production 3
    $ mled models show resnet@production
    $ mled models list
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from mled.artifacts.entities import Model, ModelDetails, ModelVersion
from mled.artifacts.refs import parse_version
from mled.cli.artifacts import size_text
from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption, command_group
from mled.cli.output import cell, data_table, details_grid, heading, local_time, note

ProjectOption = Annotated[
    str | None,
    typer.Option("--project", "-p", help="Project of the model (needed when several have it)."),
]


def build() -> typer.Typer:
    """The ``models`` command group."""
    app = command_group("The model registry: register versions, move aliases, inspect.")
    app.command("list")(list_models)
    app.command("show")(show_model)
    app.command("register")(register_model)
    app.command("alias")(set_alias)
    return app


def version_dict(v: ModelVersion) -> dict[str, Any]:
    """The JSON object of a model version."""
    return {
        "id": v.id,
        "project": v.project,
        "name": v.name,
        "version": v.version,
        "aliases": v.aliases,
        "experiment_id": v.experiment_id,
        "artifact_path": v.artifact_path,
        "digest": v.digest,
        "size": v.size,
        "file_count": v.file_count,
        "created_at": v.created_at,
        "created_by": v.created_by,
    }


def list_models(
    ctx: typer.Context,
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List registered models with their latest version and aliases.

    Example: mled models list
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        found = client.list_models(project)
        cli.emit(found, lambda out: _print_models(found, out))


def show_model(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="NAME[:VERSION|@ALIAS]",
            help="A model (all versions and alias history) or one version.",
        ),
    ],
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show a model with its versions and alias history, or one version.

    Example: mled models show resnet@production
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        if ":" in ref or "@" in ref:
            v = client.get_model_version(ref, project)
            cli.emit(version_dict(v), lambda out: _print_version(v, out))
        else:
            details = client.get_model(ref, project)
            data = {
                **_model_dict(details.model),
                "versions": [version_dict(v) for v in details.versions],
                "alias_history": details.alias_history,
            }
            cli.emit(data, lambda out: _print_details(details, out))


def register_model(
    ctx: typer.Context,
    experiment_id: Annotated[str, typer.Argument(metavar="ID", help="Experiment ID or prefix.")],
    artifact_path: Annotated[
        str, typer.Argument(metavar="ARTIFACT_PATH", help="Artifact file or folder.")
    ],
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Register an experiment's artifact as the next version of a model.

    Needs the register_model permission (admin, ml_engineer) in the experiment's project.

    Example: mled models register 0190c7e2-4b1a models/resnet resnet
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        v = client.register_model(experiment_id, artifact_path, name)
        cli.emit(version_dict(v), lambda out: out.print(f"registered {v.ref}", markup=False))


def set_alias(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    alias: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. production, staging.")],
    version: Annotated[
        str | None, typer.Argument(metavar="VERSION", help="Version the alias points to.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias instead.")] = False,
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Point an alias at a version (or remove it with --delete); every move is kept.

    Needs the register_model permission. Example: mled models alias resnet production 3
    """
    if not delete and version is None:
        raise typer.BadParameter("give the VERSION the alias points to, or --delete")
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        if delete:
            client.delete_model_alias(name, alias, project)
            cli.emit(
                {"name": name, "alias": alias, "version": None},
                lambda out: out.print(f"removed alias {alias} of {name}", markup=False),
            )
            return
        assert version is not None
        v = client.set_model_alias(name, alias, parse_version(version), project)
        cli.emit(version_dict(v), lambda out: out.print(f"{name}@{alias} -> {v.ref}", markup=False))


def _model_dict(m: Model) -> dict[str, Any]:
    return {
        "id": m.id,
        "project": m.project,
        "name": m.name,
        "latest_version": m.latest_version,
        "aliases": m.aliases,
        "created_at": m.created_at,
    }


def _aliases_text(aliases: dict[str, int]) -> str:
    return ", ".join(f"@{a} -> {v}" for a, v in aliases.items())


def _print_models(found: list[Model], out: Console) -> None:
    if not found:
        out.print(note("no registered models; register one with `mled models register`"))
        return
    table = data_table("name", "project", "latest", "aliases", fixed=("latest",))
    for m in found:
        table.add_row(
            cell(m.name, "bold"),
            cell(m.project),
            cell(m.latest_version),
            cell(_aliases_text(m.aliases)),
        )
    out.print(table)


def _print_version(v: ModelVersion, out: Console) -> None:
    out.print(
        details_grid(
            [
                ("model", v.ref),
                ("aliases", ", ".join(f"@{a}" for a in v.aliases) or None),
                ("project", v.project),
                ("experiment", v.experiment_id),
                ("artifact", f"{v.artifact_path} ({v.file_count} files, {size_text(v.size)})"),
                ("digest", v.digest),
                ("registered", f"{local_time(v.created_at)} by {v.created_by}"),
            ]
        )
    )


def _print_details(details: ModelDetails, out: Console) -> None:
    m = details.model
    out.print(Text(f"{m.name} ({m.project})", style="bold"))
    out.print(heading("versions"))
    table = data_table("version", "aliases", "experiment", "artifact", "registered", "by")
    for v in details.versions:
        table.add_row(
            cell(v.version, "bold"),
            cell(", ".join(f"@{a}" for a in v.aliases)),
            cell(v.experiment_id, "dim"),
            cell(v.artifact_path),
            cell(local_time(v.created_at)),
            cell(v.created_by),
        )
    out.print(table)
    if details.alias_history:
        out.print(heading("alias history"))
        for move in details.alias_history:
            old = "-" if move.from_version is None else move.from_version
            new = "removed" if move.to_version is None else move.to_version
            out.print(
                Text(f"{local_time(move.time)}  @{move.alias}: {old} -> {new}  ({move.actor})")
            )
