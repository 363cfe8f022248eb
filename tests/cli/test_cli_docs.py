"""docs/cli.md describes every command and option the command line has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from mled.cli.app import build_app
from mled.cli.errors import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_has_a_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = [" ".join(path) for path, _ in commands(typer.main.get_command(build_app()))]
    assert found, "no commands found"
    for path in found:
        assert re.search(rf"^### `mled {re.escape(path)}( [A-Z]+)?`$", text, re.MULTILINE), path


def test_every_option_is_described() -> None:
    text = DOC.read_text(encoding="utf-8")
    root = typer.main.get_command(build_app())
    every = [root, *(command for _, command in commands(root))]
    for command in every:
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in text, f"{command.name}: {opt} is not documented"


def test_exit_codes_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for code in (EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED):
        assert f"\n| {code} | " in text
