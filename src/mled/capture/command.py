"""How a run was started: argv, interpreter, entry point and working directory.

Example:
    >>> info = capture_command()
    >>> sorted(info)
    ['argv', 'cwd', 'entry_file', 'entry_kind', 'entry_point', 'executable']
"""

from __future__ import annotations

import os
import re
import sys
from types import ModuleType
from typing import Any, Literal, NamedTuple

EntryKind = Literal["script", "module", "interactive"]

REDACTED = "***"
_SECRET_OPTION = re.compile(
    r"^-{1,2}[\w.-]*(password|passwd|secret|token|api[-_]?key|access[-_]?key|credential)[\w.-]*$",
    re.IGNORECASE,
)


def redact_argv(argv: list[str]) -> list[str]:
    """Copy of ``argv`` with the values of secret-looking options replaced by ``***``.

    The command is stored for reproduction, which never needs the secret itself; a rerun
    supplies its own credentials.

    Example:
        >>> redact_argv(["train.py", "--lr", "0.1", "--api-key", "sk-1", "--token=abc"])
        ['train.py', '--lr', '0.1', '--api-key', '***', '--token=***']
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        name, eq, _value = arg.partition("=")
        if _SECRET_OPTION.match(name):
            if eq:
                out.append(f"{name}={REDACTED}")
            else:
                out.append(arg)
                hide_next = True
            continue
        out.append(arg)
    return out


class EntryPoint(NamedTuple):
    """What ``python`` was asked to run.

    ``name`` is the script's absolute path, the ``-m`` module name, or ``"interactive"``
    (REPL, notebook, ``python -c``); ``file`` is the file that ran, when there is one.
    """

    kind: EntryKind
    name: str
    file: str | None


def capture_command() -> dict[str, Any]:
    """Describe the command line of the current process.

    Returns:
        ``{"argv", "executable", "entry_point", "entry_kind", "entry_file", "cwd"}``;
        ``cwd`` is None when the working directory has been deleted.

    Example:
        >>> capture_command()["argv"] == redact_argv(sys.argv)
        True
    """
    entry = detect_entry_point()
    return {
        "argv": redact_argv(sys.argv),
        "executable": sys.executable or None,
        "entry_point": entry.name,
        "entry_kind": entry.kind,
        "entry_file": entry.file,
        "cwd": current_directory(),
    }


def detect_entry_point(main: ModuleType | None = None) -> EntryPoint:
    """Work out the entry point from the ``__main__`` module (or the one given).

    Example:
        >>> import types
        >>> detect_entry_point(types.ModuleType("__main__"))
        EntryPoint(kind='interactive', name='interactive', file=None)
    """
    module = main if main is not None else sys.modules.get("__main__")
    spec = getattr(module, "__spec__", None)
    file = getattr(module, "__file__", None)
    path = os.path.abspath(file) if isinstance(file, str) else None
    # ``python -m pkg`` runs ``pkg.__main__``; a directory or zip app runs a spec named
    # ``__main__``, which is a script as far as the user is concerned.
    spec_name = getattr(spec, "name", None)
    if isinstance(spec_name, str) and spec_name != "__main__":
        return EntryPoint("module", spec_name.removesuffix(".__main__"), path)
    if path is not None:
        return EntryPoint("script", path, path)
    return EntryPoint("interactive", "interactive", None)


def current_directory() -> str | None:
    """``os.getcwd()``, or None if the directory no longer exists."""
    try:
        return os.getcwd()
    except OSError:
        return None
