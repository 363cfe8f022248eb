"""How the CLI reports failures: one ``error[code]: message`` line, a hint, an exit code.

Exit codes (documented in ``docs/cli.md``):

- 0: success.
- 1: the command failed: something was not found, a conflict, a store that cannot be used,
  problems found by ``mled audit verify``, or an unexpected error.
- 2: usage error or invalid input (an unknown option, a malformed value).
- 130: interrupted with Ctrl-C.

Tracebacks are shown only with ``--debug``.

Example:
    >>> from mled.errors import ProjectNotFound
    >>> exit_code_for(ProjectNotFound("project 'x' does not exist"))
    1
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from mled.errors import InvalidInput, MledError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

UNEXPECTED_HINT = (
    "This is a bug in MLED or its environment; run the command again with --debug to see "
    "the traceback, and include it when you report the problem."
)


def exit_code_for(err: MledError) -> int:
    """2 for invalid input (the user can fix the command line), 1 for everything else.

    Example:
        >>> from mled.errors import InvalidName
        >>> exit_code_for(InvalidName("project name is empty"))
        2
    """
    return EXIT_USAGE if isinstance(err, InvalidInput) else EXIT_FAILURE


def error_console() -> Console:
    """A console on stderr that never wraps lines and never reads markup in messages."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def report_error(err: MledError, console: Console) -> None:
    """Print ``error[code]: message``, the candidate IDs the message does not already name
    (one per line), and ``hint: ...``.

    Example:
        >>> from mled.errors import ProjectNotFound
        >>> report_error(ProjectNotFound("no project 'x'"), error_console())  # doctest: +SKIP
        error[project_not_found]: no project 'x'
        hint: List projects with `mled projects list` or create it with `mled projects create`.
    """
    console.print(Text.assemble(("error", "bold red"), f"[{err.code}]: {err.message}"))
    candidates = err.details.get("candidates")
    listed = isinstance(candidates, list) and all(str(c) in err.message for c in candidates)
    if isinstance(candidates, list) and candidates and not listed:
        console.print("candidates:")
        for candidate in candidates:
            console.print(Text(f"  {candidate}"))
    if err.hint:
        console.print(Text.assemble(("hint", "bold"), f": {err.hint}"))


def report_unexpected(err: BaseException, console: Console) -> None:
    """Print one line naming an error MLED did not raise on purpose, and how to see more."""
    summary = " ".join(str(err).split()) or "(no message)"
    console.print(
        Text.assemble(("error", "bold red"), f"[unexpected]: {type(err).__name__}: {summary}")
    )
    console.print(Text.assemble(("hint", "bold"), f": {UNEXPECTED_HINT}"))


@contextmanager
def handle_errors(*, debug: bool) -> Iterator[None]:
    """Turn any exception raised inside the block into a clean report and an exit code.

    With ``debug`` the traceback is printed first.

    Example:
        >>> from mled.errors import ProjectNotFound
        >>> with handle_errors(debug=False):  # doctest: +SKIP
        ...     raise ProjectNotFound("no project 'x'")  # reported on stderr, then exit 1
    """
    try:
        yield
    except (typer.Exit, typer.Abort):
        raise
    except MledError as err:
        console = error_console()
        if debug:
            traceback.print_exception(err, file=console.file)
        report_error(err, console)
        raise typer.Exit(exit_code_for(err)) from None
    except KeyboardInterrupt:
        error_console().print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as err:
        console = error_console()
        if debug:
            traceback.print_exception(err, file=console.file)
        report_unexpected(err, console)
        raise typer.Exit(EXIT_FAILURE) from None
