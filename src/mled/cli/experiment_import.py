"""``mled experiments import``: experiments that already ran, from a JSON Lines file.

Each line is one JSON object with the fields of ``mled.log_experiments`` entries: ``name``,
``project``, ``id``, ``params``, ``metrics``, ``tags``, ``started_at``, ``ended_at``,
``status``, ``group``, ``notes``, ``source``, ``command``, ``environment``, ``seeds``.

Example:
    $ mled experiments import runs.jsonl --project churn
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption
from mled.errors import InvalidInput, MledError
from mled.sdk.already_ran import DEFAULT_PROJECT


def import_experiments(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="A JSON Lines file, one experiment per line; - for stdin."
        ),
    ],
    project: Annotated[
        str,
        typer.Option("--project", "-p", help="Project of the lines that name none."),
    ] = DEFAULT_PROJECT,
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Record experiments that already ran, one per line of a JSON Lines file.

    Every line is checked before anything is stored, and an error names its line. Lines
    with an "id" (a UUID) are stored once however often the file is imported.
    --json prints {"ids": [...]} in the order of the lines.

    Example: mled experiments import runs.jsonl --project churn
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.guard():
        lines = read_lines(source)
    with cli.session() as client:
        numbers = [number for number, _ in lines]
        try:
            ids = client.log_experiments([entry for _, entry in lines], project=project)
        except MledError as err:
            index = err.details.get("index")
            if isinstance(index, int) and 0 <= index < len(numbers):
                raise err.about_item(numbers[index], "line") from err
            raise
        cli.emit({"ids": ids}, lambda out: _print_done(len(ids), out))


def read_lines(source: str) -> list[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSON Lines file (or of stdin for ``-``) with their line
    numbers; blank lines are skipped.

    Example:
        >>> read_lines("runs.jsonl")  # doctest: +SKIP
        [(1, {'name': 'a', 'params': {'lr': 0.1}}), (3, {'name': 'b'})]
    """
    if source == "-":
        return parse_lines(sys.stdin)
    path = Path(source)
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_lines(handle)
    except FileNotFoundError as err:
        raise InvalidInput(
            f"{source}: no such file", hint="Give the path of a JSON Lines file, or - for stdin."
        ) from err
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise InvalidInput(
            f"{source} cannot be read as UTF-8 text: {err}",
            hint="Give the path of a JSON Lines file, or - for stdin.",
        ) from err


def parse_lines(lines: Iterable[str]) -> list[tuple[int, dict[str, Any]]]:
    """Each non-blank line as a JSON object, with its line number (from 1).

    Example:
        >>> parse_lines(['{"name": "a"}', "", '{"name": "b"}'])
        [(1, {'name': 'a'}), (3, {'name': 'b'})]
    """
    out: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line.rstrip("\r\n"))
        except json.JSONDecodeError as err:
            raise InvalidInput(
                f"line {number}: not JSON ({err.msg} at column {err.colno})",
                hint="Write one JSON object per line (JSON Lines).",
            ) from err
        if not isinstance(entry, dict):
            raise InvalidInput(
                f"line {number}: expected a JSON object, got {type(entry).__name__}",
                hint='Write each experiment as an object such as {"name": "a", "params": {}}.',
            )
        out.append((number, entry))
    if not out:
        raise InvalidInput("the file holds no experiments", hint="Write one JSON object per line.")
    return out


def _print_done(count: int, out: Console) -> None:
    out.print(f"imported {count} experiment{'s' if count != 1 else ''}", highlight=False)
