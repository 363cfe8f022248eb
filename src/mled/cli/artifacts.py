"""``mled artifacts``: list, download and log the files of an experiment; collect the
garbage of the artifact store.

Example:
    $ mled artifacts log 0190c7e2-4b1a checkpoints/ --prefix checkpoints
    $ mled artifacts list 0190c7e2-4b1a
    $ mled artifacts download 0190c7e2-4b1a checkpoints --dest out/
    $ mled artifacts gc --older-than 48h --dry-run
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from mled.artifacts.entities import Artifact, GcReport, StoredItem
from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption, command_group
from mled.cli.output import cell, data_table, duration_text, local_time, note

ExperimentArg = Annotated[
    str, typer.Argument(metavar="ID", help="Experiment ID or a unique prefix of one.")
]


def build() -> typer.Typer:
    """The ``artifacts`` command group."""
    app = command_group("List, download and log the files (artifacts) of experiments.")
    app.command("list")(list_artifacts)
    app.command("download")(download_artifacts)
    app.command("log")(log_artifacts)
    app.command("gc")(collect_garbage)
    return app


def size_text(size: int) -> str:
    """A byte count in the largest unit that keeps it >= 1.

    Example:
        >>> size_text(512), size_text(10 * 1024 * 1024), size_text(3_500_000_000)
        ('512 B', '10.0 MiB', '3.3 GiB')
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def artifact_dict(a: Artifact) -> dict[str, Any]:
    """The JSON object of an artifact."""
    return {
        "experiment_id": a.experiment_id,
        "path": a.path,
        "size": a.size,
        "sha256": a.digest,
        "media_type": a.media_type,
        "created_at": a.created_at,
    }


def list_artifacts(
    ctx: typer.Context,
    experiment_id: ExperimentArg,
    path: Annotated[
        str | None, typer.Option("--path", help="Only this file, or the files under this folder.")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """List an experiment's artifacts with their size and SHA-256.

    Example: mled artifacts list 0190c7e2-4b1a --path models
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        found = client.list_artifacts(experiment_id, path)
        cli.emit([artifact_dict(a) for a in found], lambda out: _print_artifacts(found, out))


def download_artifacts(
    ctx: typer.Context,
    experiment_id: ExperimentArg,
    path: Annotated[
        str | None,
        typer.Argument(help="Artifact file or folder to download (default: all of them)."),
    ] = None,
    dest: Annotated[Path, typer.Option("--dest", "-d", help="Folder to download into.")] = Path(
        "."
    ),
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Download artifacts, verifying every byte against its SHA-256.

    A file lands as DEST/NAME, a folder as DEST/FOLDER/...; a corrupted artifact is reported
    by name and never written.

    Example: mled artifacts download 0190c7e2-4b1a models/resnet --dest out
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        local = client.download_artifacts(experiment_id, path, dest)
        cli.emit({"path": str(local)}, lambda out: out.print(f"downloaded to {local}"))


def log_artifacts(
    ctx: typer.Context,
    experiment_id: ExperimentArg,
    source: Annotated[Path, typer.Argument(metavar="PATH", help="A file or a folder.")],
    name: Annotated[
        str | None,
        typer.Option("--name", help="Artifact path of a file (default: its file name)."),
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Artifact folder to log a folder into.")
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Log a file or every file of a folder as artifacts of an experiment (even an ended one).

    Logging the same content again is a no-op; it also replaces a stored object that
    `mled verify` reported as corrupted.

    Example: mled artifacts log 0190c7e2-4b1a report.pdf --name reports/final.pdf
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        if source.is_dir():
            logged = client.log_artifacts(experiment_id, source, prefix)
        else:
            logged = [client.log_artifact(experiment_id, source, name)]
        cli.emit(
            [artifact_dict(a) for a in logged],
            lambda out: out.print(f"logged {len(logged)} artifact(s)", markup=False),
        )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """A duration written as a number and a unit: ``90m``, ``24h``, ``7d``, ``2w``, ``30s``.

    Example:
        >>> parse_duration("36h"), parse_duration("1.5d")
        (datetime.timedelta(days=1, seconds=43200), datetime.timedelta(days=1, seconds=43200))
    """
    match = _DURATION.match(text)
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not a duration; write a number and a unit: 90m, 24h, 7d, 2w"
        )
    seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds > timedelta.max.total_seconds():
        raise typer.BadParameter(f"{text!r} is too long a duration")
    return timedelta(seconds=seconds)


def collect_garbage(
    ctx: typer.Context,
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Grace period: remove only what was not written to for this long "
            "(90m, 24h, 7d; at least 1h).",
        ),
    ] = "24h",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Remove nothing; list what would be removed.")
    ] = False,
    remove_unreferenced: Annotated[
        bool,
        typer.Option(
            "--remove-unreferenced",
            help="Also remove complete objects that no artifact or dataset refers to "
            "(only those older than the grace period).",
        ),
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Remove the leftovers of killed uploads from the artifact store (admins only).

    Temporary uploads not written to for the grace period are removed; younger ones may
    still be being written and are kept. Complete objects that nothing refers to are listed,
    and removed only with --remove-unreferenced. Works embedded and through a server.

    Example: mled artifacts gc --older-than 48h --dry-run
    """
    grace = parse_duration(older_than)
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        report = client.collect_garbage(
            grace, dry_run=dry_run, remove_unreferenced=remove_unreferenced
        )
        cli.emit(report, lambda out: _print_gc(report, remove_unreferenced, out))


_KIND_TEXT = {"upload": "upload", "multipart": "multipart upload", "object": "unreferenced"}


def _print_gc(report: GcReport, remove_unreferenced: bool, out: Console) -> None:
    grace = duration_text(report.older_than)
    done = "would remove" if report.dry_run else "removed"
    rows = [*report.uploads, *report.unreferenced]
    if rows:
        table = data_table(
            "action", "what", "key", "size", "last written", fixed=("action", "size")
        )
        for item in rows:
            table.add_row(
                _action_cell(item),
                cell(_KIND_TEXT.get(item.kind, item.kind)),
                cell(item.key),
                cell(size_text(item.size)),
                cell(local_time(item.modified)),
            )
        out.print(table)
    stale = [u for u in report.uploads if u.action != "kept"]
    young = len(report.uploads) - len(stale)
    out.print(
        f"{done} {len(stale)} temporary upload(s) not written to for {grace}; kept {young} "
        f"younger one(s)",
        markup=False,
        soft_wrap=True,
    )
    gone = [o for o in report.unreferenced if o.action != "kept"]
    kept = len(report.unreferenced) - len(gone)
    line = (
        f"{len(report.unreferenced)} of {report.objects} object(s) unreferenced: {done} "
        f"{len(gone)}, kept {kept}"
    )
    if report.unreferenced and not remove_unreferenced:
        line += " (--remove-unreferenced removes those older than the grace period)"
    out.print(line, markup=False, soft_wrap=True)
    out.print(
        f"{done} {size_text(report.bytes_freed)} in {report.store}", markup=False, soft_wrap=True
    )


def _action_cell(item: StoredItem) -> Text:
    styles = {"removed": "red", "would_remove": "yellow", "kept": "dim"}
    return Text(item.action.replace("_", " "), style=styles.get(item.action, ""))


def _print_artifacts(found: list[Artifact], out: Console) -> None:
    if not found:
        out.print(note("no artifacts"))
        return
    table = data_table("path", "size", "sha256", "media type", "logged", fixed=("size", "sha256"))
    for a in found:
        table.add_row(
            cell(a.path, "bold"),
            cell(size_text(a.size)),
            cell(a.digest[:12], "dim"),
            cell(a.media_type),
            cell(local_time(a.created_at)),
        )
    out.print(table)
