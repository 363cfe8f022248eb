"""Code version of a run: commit, branch, remote, dirty flag and uncommitted diff.

Everything comes from the ``git`` command line (no GitPython), run without a shell and with a
short timeout. Outside a work tree, or when git is not installed, the result is ``None`` and
nothing is spawned at all, so capture costs microseconds there.

Example:
    >>> strip_credentials("https://user:token@example.com/org/repo.git")
    'https://example.com/org/repo.git'
    >>> capture_git("/") is None
    True
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

GIT_TIMEOUT_SECONDS = 3.0
"""Limit for each metadata command; a wedged git must not delay the start of training."""

DIFF_TIMEOUT_SECONDS = 10.0
"""Limit for ``git diff HEAD``, which reads file contents and can take longer."""

DIFF_LIMIT_BYTES = 1024 * 1024
"""Stored diffs are cut at this size (at a line boundary) and flagged as truncated."""

UNTRACKED_LIMIT = 1000
"""At most this many untracked names are listed; the rest is flagged as truncated."""

# Schemes whose user name identifies an account (``git@``) rather than carrying a token.
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})


class _Status(NamedTuple):
    commit: str | None
    branch: str | None
    dirty: bool
    untracked: list[str]


def capture_git(
    start_dir: str | os.PathLike[str],
    *,
    include_diff: bool = True,
    entry_file: str | os.PathLike[str] | None = None,
) -> dict[str, Any] | None:
    """Describe the git work tree containing ``start_dir``, or return None outside of one.

    Args:
        start_dir: a directory inside the work tree.
        include_diff: also store ``git diff HEAD`` and the names of untracked files.
        entry_file: the script that was run; its path relative to the repo root is recorded.

    Returns:
        ``{"vcs", "commit", "branch", "remote_url", "dirty", "diff", "diff_truncated",
        "untracked", "untracked_truncated", "repo_root", "entry_path"}``. ``branch`` is None
        on a detached HEAD, ``commit`` is None before the first commit, ``dirty`` means tracked
        files differ from HEAD (untracked files are listed but do not make the tree dirty,
        as with ``git describe --dirty``).

    Example:
        >>> info = capture_git(".")  # doctest: +SKIP
        >>> info["commit"], info["branch"], info["dirty"]  # doctest: +SKIP
        ('3f2c9e0d...', 'main', False)
    """
    start = Path(start_dir)
    if not may_be_in_work_tree(start):
        return None
    root_text = _run_git(start, "rev-parse", "--show-toplevel")
    if root_text is None:
        return None
    root = Path(root_text.strip())
    status = _read_status(start, include_untracked=include_diff)
    if status is None:
        return None
    diff, diff_truncated = _diff_for(start, status) if include_diff else (None, False)
    untracked = status.untracked[:UNTRACKED_LIMIT] if include_diff else None
    return {
        "vcs": "git",
        "commit": status.commit,
        "branch": status.branch,
        "remote_url": _remote_url(start),
        "dirty": status.dirty,
        "diff": diff,
        "diff_truncated": diff_truncated,
        "untracked": untracked,
        "untracked_truncated": include_diff and len(status.untracked) > UNTRACKED_LIMIT,
        "repo_root": str(root),
        "entry_path": _relative_to_root(entry_file, root),
    }


def strip_credentials(url: str) -> str:
    """Remove passwords and tokens from a remote URL, keeping what identifies the repository.

    HTTP(S) and other URLs lose their whole user part (tokens are often passed as the user
    name alone) and their query and fragment (``?private_token=...``). ``ssh://`` URLs and
    scp-style ``git@host:org/repo.git`` keep a bare user name, which names an account, not a
    secret, but lose any password.

    Example:
        >>> strip_credentials("https://ghp_abc123@github.com/org/repo.git")
        'https://github.com/org/repo.git'
        >>> strip_credentials("git@github.com:org/repo.git")
        'git@github.com:org/repo.git'
    """
    if "://" not in url:
        return _strip_scp_password(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        # Unparseable (e.g. a broken IPv6 literal): drop anything that looks like user info.
        return re.sub(r"//[^/]*@", "//", url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    keep_user = at and parts.scheme.lower() in _SSH_SCHEMES and user
    netloc = f"{user}@{hostport}" if keep_user else hostport
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _strip_scp_password(url: str) -> str:
    """``user:pass@host:path`` -> ``user@host:path``; local paths and ``git@host:x`` as is."""
    userinfo, at, rest = url.partition("@")
    if not at or ":" not in userinfo or "/" in userinfo:
        return url
    return f"{userinfo.partition(':')[0]}@{rest}"


def may_be_in_work_tree(start: str | os.PathLike[str]) -> bool:
    """Whether ``start`` or a parent holds a ``.git``: a pre-check that spawns nothing.

    False means git would certainly find no work tree there, so runs outside any repository
    never start a process; True still needs git to confirm.
    """
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return True  # git is told where the repository is; only git itself can tell.
    try:
        here = Path(start).resolve()
    except OSError:
        return False
    return any((folder / ".git").exists() for folder in (here, *here.parents))


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    # Never take index.lock (the user's own git commands must not fail meanwhile) and never
    # prompt for credentials on a terminal.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["GIT_TERMINAL_PROMPT"] = "0"
    return env


def _run_git(cwd: Path, *args: str) -> str | None:
    """Run one git command and return its stdout, or None on any failure."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, *args],
            cwd=cwd,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", errors="replace")


def _read_status(cwd: Path, *, include_untracked: bool) -> _Status | None:
    """Commit, branch, dirty flag and untracked names from one ``git status`` call."""
    untracked_mode = "--untracked-files=normal" if include_untracked else "--untracked-files=no"
    out = _run_git(cwd, "status", "--porcelain=v2", "--branch", "-z", untracked_mode)
    if out is None:
        return None
    return _parse_status(out)


def _parse_status(out: str) -> _Status:
    """Parse ``git status --porcelain=v2 --branch -z`` (NUL-separated records)."""
    commit: str | None = None
    branch: str | None = None
    dirty = False
    untracked: list[str] = []
    records = iter(out.split("\0"))
    for record in records:
        if record.startswith("# branch.oid "):
            oid = record.removeprefix("# branch.oid ")
            commit = None if oid == "(initial)" else oid
        elif record.startswith("# branch.head "):
            head = record.removeprefix("# branch.head ")
            branch = None if head == "(detached)" else head
        elif record.startswith("? "):
            untracked.append(record[2:])
        elif record[:2] in ("1 ", "2 ", "u "):
            dirty = True
            if record.startswith("2 "):
                next(records, None)  # a rename carries its original path as an extra record
    return _Status(commit, branch, dirty, untracked)


def _remote_url(cwd: Path) -> str | None:
    """URL of ``origin``, else of the first remote, credentials stripped."""
    out = _run_git(cwd, "config", "-z", "--get-regexp", r"^remote\..*\.url$")
    if not out:
        return None
    urls: dict[str, str] = {}
    for entry in filter(None, out.split("\0")):
        key, _, url = entry.partition("\n")
        urls.setdefault(key.removeprefix("remote.").removesuffix(".url"), url)
    chosen = urls.get("origin") or next(iter(urls.values()), None)
    return strip_credentials(chosen) if chosen else None


def _diff_for(cwd: Path, status: _Status) -> tuple[str | None, bool]:
    if status.commit is None:
        return None, False  # no commit yet: nothing to diff against
    if not status.dirty:
        return "", False  # status already proved the diff empty; spare a process
    return _read_diff(cwd)


def _read_diff(cwd: Path) -> tuple[str | None, bool]:
    """``git diff HEAD`` capped at DIFF_LIMIT_BYTES; (None, False) if git fails."""
    git = shutil.which("git")
    if git is None:
        return None, False
    # --no-ext-diff/--no-textconv: never run diff drivers configured by the repository.
    args = [git, "diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv"]
    captured = _read_capped(args, cwd, DIFF_LIMIT_BYTES, DIFF_TIMEOUT_SECONDS)
    if captured is None:
        return None, False
    data, truncated = captured
    return data.decode("utf-8", errors="replace"), truncated


def _read_capped(
    args: list[str], cwd: Path, limit: int, timeout: float
) -> tuple[bytes, bool] | None:
    """Read at most ``limit`` bytes of a command's output, cut at the last whole line.

    Reads incrementally instead of using ``communicate()`` so that a huge diff is never held
    in memory whole; a timer kills the process if it outlives ``timeout``.
    """
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=_git_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        # The with block closes the pipe and reaps the process on every path, and the timer
        # is still armed while it waits.
        with proc:
            assert proc.stdout is not None  # stdout=PIPE guarantees it
            data = proc.stdout.read(limit + 1)
            truncated = len(data) > limit
            if truncated:
                proc.kill()
    finally:
        timer.cancel()
    if truncated:
        cut = data.rfind(b"\n", 0, limit)
        return data[: cut + 1 if cut >= 0 else limit], True
    # A non-zero code also covers the timer's kill: a partial diff would mislead.
    return (data, False) if proc.returncode == 0 else None


def _relative_to_root(entry_file: str | os.PathLike[str] | None, root: Path) -> str | None:
    """POSIX-style path of ``entry_file`` inside ``root``, or None if it lies outside."""
    if entry_file is None:
        return None
    try:
        entry = Path(entry_file).resolve()
        resolved_root = root.resolve()
    except OSError:
        return None
    if not entry.is_relative_to(resolved_root):
        return None
    return entry.relative_to(resolved_root).as_posix()
