"""docs/errors.md documents every error MLED raises, with the code, status and hint of the code."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import mled
from mled.errors import ERROR_CLASSES, MledError

ROOT = Path(__file__).resolve().parent.parent
ERRORS_DOC = ROOT / "docs" / "errors.md"
SERVER_ERRORS = ROOT / "src" / "mled" / "server" / "errors.py"
ROW = re.compile(r"^\|\s*`(?P<code>[a-z0-9_]+)`\s*\|(?P<rest>.*)\|\s*$")
CODE_SHAPE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def documented_rows() -> dict[str, list[str]]:
    """{code: cells after the code} of every table row that starts with a code."""
    rows: dict[str, list[str]] = {}
    for line in ERRORS_DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match["code"] not in rows, f"{match['code']} is documented twice"
            rows[match["code"]] = [cell.strip() for cell in match["rest"].split("|")]
    return rows


def _subclasses(cls: type[MledError]) -> Iterator[type[MledError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _import_every_module() -> None:
    """Import the whole package so that every MledError subclass is defined."""
    for module in pkgutil.walk_packages(mled.__path__, "mled."):
        # __main__ runs the CLI; migrations.env runs only inside Alembic.
        if not module.name.endswith(("__main__", "migrations.env")):
            importlib.import_module(module.name)


def mled_error_classes() -> list[type[MledError]]:
    """ERROR_CLASSES plus any MledError subclass defined elsewhere in the package."""
    _import_every_module()
    extra = [c for c in _subclasses(MledError) if c.__module__.startswith("mled.")]
    return list(dict.fromkeys([*ERROR_CLASSES, *extra]))


@pytest.mark.parametrize("cls", mled_error_classes(), ids=lambda c: c.code)
def test_every_error_class_is_documented_with_its_status_and_hint(cls: type[MledError]) -> None:
    row = documented_rows().get(cls.code)
    assert row is not None, f"docs/errors.md has no table row for `{cls.code}` ({cls.__name__})"
    class_cell, status_cell, _meaning, hint_cell = row
    assert cls.__name__ in class_cell
    assert status_cell == str(cls.status), f"`{cls.code}`: the docs say {status_cell}"
    hint = cls.default_hint.replace("\\", "\\\\")  # a backslash is written \\ in Markdown
    assert hint_cell == hint, (
        f"`{cls.code}`: update the default hint in docs/errors.md to {cls.default_hint!r}"
    )


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.code)
def test_every_error_class_has_a_hint_a_status_and_a_well_formed_code(
    cls: type[MledError],
) -> None:
    assert cls.default_hint.strip(), f"{cls.__name__} has an empty default hint"
    assert CODE_SHAPE.match(cls.code), f"{cls.__name__}.code {cls.code!r} is not snake_case"
    assert 400 <= cls.status <= 599


def test_error_codes_are_unique() -> None:
    codes = [cls.code for cls in mled_error_classes()]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    assert not duplicates, f"error codes used by more than one class: {duplicates}"


def test_no_documented_code_is_stale() -> None:
    known = {cls.code for cls in mled_error_classes()}
    server_source = SERVER_ERRORS.read_text(encoding="utf-8") if SERVER_ERRORS.exists() else ""
    stale = [
        code for code in documented_rows() if code not in known and f'"{code}"' not in server_source
    ]
    assert not stale, f"docs/errors.md documents codes that nothing raises: {stale}"


def test_error_classes_start_at_the_root_and_all_derive_from_it() -> None:
    assert ERROR_CLASSES[0] is MledError
    assert all(issubclass(cls, MledError) for cls in ERROR_CLASSES)
