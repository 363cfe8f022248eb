"""Automatic capture of the context of a run: code version, command line and environment.

The SDK calls :func:`capture_run_context` when an experiment starts and stores the three parts
on the experiment; :func:`seed_everything` seeds the usual random generators and says what it
seeded. Each part can be switched off with :class:`CaptureOptions`. Importing this package is
cheap: no numpy, no torch, no ``importlib.metadata`` until packages are actually listed.

Example:
    >>> ctx = capture_run_context(CaptureOptions(git=False, packages=False))
    >>> ctx.source is None, "argv" in ctx.command
    (True, True)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mled.capture import command, environment, git
from mled.capture.seeds import seed_everything

__all__ = ["CaptureOptions", "RunContext", "capture_run_context", "seed_everything"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureOptions:
    """Which parts of the run context to capture; everything is on by default.

    ``git_diff`` (the uncommitted diff and untracked file names) only applies when ``git`` is
    on, ``packages`` (the installed distributions) only when ``environment`` is on.

    Example:
        >>> CaptureOptions(git_diff=False, packages=False)
        CaptureOptions(git=True, git_diff=False, command=True, environment=True, packages=False)
    """

    git: bool = True
    git_diff: bool = True
    command: bool = True
    environment: bool = True
    packages: bool = True


@dataclass(frozen=True)
class RunContext:
    """The captured context; a part is None when switched off or unavailable (no repository).

    Every value is JSON-serialisable, so ``dataclasses.asdict(ctx)`` can be stored as is.

    Attributes:
        source: git info, see :func:`mled.capture.git.capture_git`.
        command: argv and entry point, see :func:`mled.capture.command.capture_command`.
        environment: interpreter, packages, machine, see
            :func:`mled.capture.environment.capture_environment`.
    """

    source: dict[str, Any] | None
    command: dict[str, Any] | None
    environment: dict[str, Any] | None


def capture_run_context(
    options: CaptureOptions = CaptureOptions(), cwd: str | None = None
) -> RunContext:
    """Capture the code version, command line and environment of the current process.

    The repository is looked up from ``cwd`` when given; otherwise from the directory of the
    script that was run (so ``python ~/src/proj/train.py`` records ``proj`` wherever it is
    started from), falling back to the working directory. Never raises: a part that cannot be
    captured is logged as a warning and recorded as None, since capture must not stop the
    training it describes.

    Example:
        >>> ctx = capture_run_context(CaptureOptions(git_diff=False), cwd=".")
        >>> ctx.source["commit"] if ctx.source else None  # doctest: +SKIP
        '3f2c9e0d5b1a...'
        >>> ctx.environment["python"]["implementation"]  # doctest: +SKIP
        'CPython'
    """
    source = _guarded("git source", lambda: _capture_source(options, cwd)) if options.git else None
    cmd = _guarded("command", command.capture_command) if options.command else None
    env = (
        _guarded(
            "environment",
            lambda: environment.capture_environment(include_packages=options.packages),
        )
        if options.environment
        else None
    )
    return RunContext(source=source, command=cmd, environment=env)


def _capture_source(options: CaptureOptions, cwd: str | None) -> dict[str, Any] | None:
    entry_file = command.detect_entry_point().file
    start = cwd if cwd is not None else _default_git_directory(entry_file)
    if start is None:
        return None
    return git.capture_git(start, include_diff=options.git_diff, entry_file=entry_file)


def _default_git_directory(entry_file: str | None) -> str | None:
    """The script's directory if it is in a work tree, else the working directory."""
    if entry_file is not None:
        script_dir = os.path.dirname(entry_file)
        if git.may_be_in_work_tree(script_dir):
            return script_dir
    return command.current_directory()


def _guarded(part: str, collect: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
    try:
        return collect()
    except Exception:
        # Capture is best effort: losing a part of the record beats aborting the run.
        logger.warning("could not capture the %s of this run; recording none", part, exc_info=True)
        return None
