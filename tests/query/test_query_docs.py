"""docs/query-language.md and the docstrings of mled.query stay true."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from mled.errors import QuerySyntaxError
from mled.query.parser import parse_query

DOC = Path(__file__).resolve().parents[2] / "docs" / "query-language.md"
MODULES = [
    "ast",
    "builder",
    "compiler",
    "conditions",
    "dialect",
    "evaluate",
    "fields",
    "literals",
    "pagination",
    "parser",
    "patterns",
    "render",
]


def _blocks(language: str) -> list[str]:
    """Bodies of the fenced code blocks whose info string is ``language``."""
    blocks: list[str] = []
    current: list[str] | None = None
    current_language = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is None:
                current, current_language = [], line[3:].strip()
            else:
                if current_language == language:
                    blocks.append("\n".join(current) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _inline_examples() -> list[str]:
    lines = [line for block in _blocks("query") for line in block.splitlines() if line.strip()]
    assert lines
    return lines


@pytest.mark.parametrize("example", _inline_examples())
def test_documented_examples_parse(example: str) -> None:
    parse_query(example)


def test_documented_error_messages_are_real() -> None:
    shown = [b for b in _blocks("") if "^" in b]
    assert len(shown) == 2
    for block in shown:
        first, query_line, caret = block.rstrip("\n").split("\n")
        with pytest.raises(QuerySyntaxError) as info:
            parse_query(query_line.removeprefix("  "))
        assert info.value.message == f"{first}\n{query_line}\n{caret}"


@pytest.mark.parametrize("name", MODULES)
def test_module_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"mled.query.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
