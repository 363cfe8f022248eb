"""``mled datasets``: dataset versions, what changed between them, and their files.

Example:
    $ mled datasets list
    $ mled datasets versions cifar10
    $ mled datasets diff cifar10 1 2
    $ mled datasets get cifar10:2 data/cifar10
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from mled.artifacts.entities import Dataset, DatasetDiff, DatasetVersion
from mled.artifacts.refs import parse_version
from mled.cli.artifacts import size_text
from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption, command_group
from mled.cli.output import cell, data_table, details_grid, local_time, note

ProjectOption = Annotated[
    str | None,
    typer.Option("--project", "-p", help="Project of the dataset (needed when several have it)."),
]


def build() -> typer.Typer:
    """The ``datasets`` command group."""
    app = command_group("Dataset versions: list, compare and download them.")
    app.command("list")(list_datasets)
    app.command("versions")(list_versions)
    app.command("show")(show_version)
    app.command("diff")(diff_versions)
    app.command("get")(get_version)
    return app


def version_dict(v: DatasetVersion, *, files: bool = False) -> dict[str, Any]:
    """The JSON object of a dataset version (with ``files`` when asked and known)."""
    out: dict[str, Any] = {
        "id": v.id,
        "project": v.project,
        "name": v.name,
        "version": v.version,
        "digest": v.digest,
        "file_count": v.file_count,
        "size": v.size,
        "source_uri": v.source_uri,
        "stored": v.stored,
        "created_at": v.created_at,
        "created_by": v.created_by,
    }
    if files and v.manifest is not None:
        out["files"] = {p: {"size": e.size, "sha256": e.sha256} for p, e in v.manifest.items()}
    return out


def list_datasets(
    ctx: typer.Context,
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List datasets and their latest version.

    Example: mled datasets list --project vision
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        found = client.list_datasets(project)
        cli.emit([_dataset_dict(d) for d in found], lambda out: _print_datasets(found, out))


def list_versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Dataset name.")],
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List every version of a dataset, oldest first.

    Example: mled datasets versions cifar10
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        versions = client.list_dataset_versions(name, project)
        cli.emit([version_dict(v) for v in versions], lambda out: _print_versions(versions, out))


def show_version(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[:VERSION]", help="Default: the latest.")],
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Show a dataset version and its files.

    Example: mled datasets show cifar10:2
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        v = client.get_dataset_version(ref, project)
        cli.emit(version_dict(v, files=True), lambda out: _print_version(v, out))


def diff_versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Dataset name.")],
    from_version: Annotated[str, typer.Argument(metavar="V1", help="Older version.")],
    to_version: Annotated[str, typer.Argument(metavar="V2", help="Newer version.")],
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List the files added (+), removed (-) and changed (~) from V1 to V2.

    Example: mled datasets diff cifar10 1 2
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        diff = client.diff_dataset(
            name, parse_version(from_version), parse_version(to_version), project
        )
        cli.emit(diff, lambda out: _print_diff(diff, out))


def get_version(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(metavar="NAME[:VERSION]", help="Default: the latest.")],
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="Folder to write the files to.")],
    project: ProjectOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Download the files of a dataset version logged with store=True, verifying each one.

    Example: mled datasets get cifar10:2 data/cifar10
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        v = client.download_dataset(ref, dest, project)
        cli.emit(
            {**version_dict(v), "dest": str(dest)},
            lambda out: out.print(f"wrote {v.file_count} files of {v.ref} to {dest}", markup=False),
        )


def _dataset_dict(d: Dataset) -> dict[str, Any]:
    return {
        "id": d.id,
        "project": d.project,
        "name": d.name,
        "latest_version": d.latest_version,
        "created_at": d.created_at,
    }


def _print_datasets(found: list[Dataset], out: Console) -> None:
    if not found:
        out.print(note("no datasets yet; experiments add them with exp.log_dataset(...)"))
        return
    table = data_table("name", "project", "latest", "created", fixed=("latest", "created"))
    for d in found:
        table.add_row(
            cell(d.name, "bold"),
            cell(d.project),
            cell(d.latest_version),
            cell(local_time(d.created_at)),
        )
    out.print(table)


def _print_versions(versions: list[DatasetVersion], out: Console) -> None:
    table = data_table(
        "version", "files", "size", "digest", "stored", "created", "by", fixed=("created",)
    )
    for v in versions:
        table.add_row(
            cell(v.version, "bold"),
            cell(v.file_count),
            cell(size_text(v.size)),
            cell(v.digest[:12], "dim"),
            cell("yes" if v.stored else "no"),
            cell(local_time(v.created_at)),
            cell(v.created_by),
        )
    out.print(table)


def _print_version(v: DatasetVersion, out: Console) -> None:
    out.print(
        details_grid(
            [
                ("dataset", v.ref),
                ("project", v.project),
                ("digest", v.digest),
                ("files", f"{v.file_count} ({size_text(v.size)})"),
                ("stored", "yes" if v.stored else "no (metadata only)"),
                ("source", v.source_uri),
                ("created", f"{local_time(v.created_at)} by {v.created_by}"),
            ]
        )
    )
    if v.manifest:
        table = data_table("file", "size", "sha256", fixed=("size", "sha256"))
        for path, e in v.manifest.items():
            table.add_row(cell(path), cell(size_text(e.size)), cell(e.sha256[:12], "dim"))
        out.print(table)


def _print_diff(diff: DatasetDiff, out: Console) -> None:
    for sign, paths, style in (
        ("+", diff.added, "green"),
        ("-", diff.removed, "red"),
        ("~", diff.changed, "yellow"),
    ):
        for path in paths:
            out.print(Text(f"{sign} {path}", style=style))
    out.print(
        Text(
            f"{diff.name} {diff.from_version} -> {diff.to_version}: {len(diff.added)} added, "
            f"{len(diff.removed)} removed, {len(diff.changed)} changed",
            style="dim",
        )
    )
