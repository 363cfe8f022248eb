"""Tests of mled.capture: git source, command line, environment and seeding.

Git tests build throwaway repositories under tmp_path with an isolated git configuration, so
the developer's own ~/.gitconfig (signing, hooks, default branch) cannot change the outcome.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import logging
import os
import platform
import random
import shutil
import subprocess
import sys
import types
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any, NoReturn

import pytest

import mled.capture
from mled.capture import CaptureOptions, RunContext, capture_run_context, seed_everything
from mled.capture import environment as capture_environment_module
from mled.capture.command import EntryPoint, capture_command, detect_entry_point
from mled.capture.environment import (
    REPRODUCIBILITY_ENV_VARS,
    capture_environment,
    clear_package_cache,
    cpu_info,
    gpu_info,
    installed_packages,
    memory_total_bytes,
)
from mled.capture.git import DIFF_LIMIT_BYTES, _read_capped, capture_git, strip_credentials
from mled.errors import InvalidInput

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

GIT_ONLY = CaptureOptions(command=False, environment=False)


# --- helpers and fixtures --------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` for test setup and return its stripped stdout."""
    done = subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture(autouse=True)
def isolated_git_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Ignore global and system git config, and give commits a fixed identity."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test Author")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "author@example.com")
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on branch ``main`` with one commit holding ``train.py``."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("print('training')\n")
    git(root, "add", "train.py")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory that is not inside any git work tree."""
    folder = tmp_path / "not-a-repo"
    folder.mkdir()
    if shutil.which("git") and _in_repo(folder):
        pytest.skip("the temporary directory lies inside a git repository")
    return folder


def _in_repo(folder: Path) -> bool:
    found = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"],
        cwd=folder,
        capture_output=True,
        check=False,
        timeout=30,
    )
    return found.returncode == 0


def source_of(folder: Path, **options: bool) -> dict[str, Any] | None:
    ctx = capture_run_context(dataclasses.replace(GIT_ONLY, **options), cwd=str(folder))
    return ctx.source


def forbid_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any attempt to start a process fail the test."""

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        pytest.fail(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


# --- git source ------------------------------------------------------------------------------


@needs_git
def test_clean_repo_records_commit_branch_and_root(repo: Path) -> None:
    source = source_of(repo)

    assert source is not None
    assert source["vcs"] == "git"
    assert source["commit"] == git(repo, "rev-parse", "HEAD")
    assert source["branch"] == "main"
    assert source["dirty"] is False
    assert source["diff"] == ""
    assert source["diff_truncated"] is False
    assert source["untracked"] == []
    assert source["remote_url"] is None
    assert Path(source["repo_root"]).resolve() == repo.resolve()


@needs_git
def test_modified_file_makes_tree_dirty_and_is_in_diff(repo: Path) -> None:
    (repo / "train.py").write_text("print('training')\nprint('changed')\n")

    source = source_of(repo)

    assert source is not None
    assert source["dirty"] is True
    assert "diff --git a/train.py b/train.py" in source["diff"]
    assert "+print('changed')" in source["diff"]


@needs_git
def test_staged_new_file_is_in_diff_against_head(repo: Path) -> None:
    (repo / "model.py").write_text("LAYERS = 3\n")
    git(repo, "add", "model.py")

    source = source_of(repo)

    assert source is not None
    assert source["dirty"] is True
    assert "+LAYERS = 3" in source["diff"]


@needs_git
def test_rename_is_dirty_and_parsed(repo: Path) -> None:
    git(repo, "mv", "train.py", "fit.py")
    (repo / "notes.txt").write_text("x\n")

    source = source_of(repo)

    assert source is not None
    assert source["dirty"] is True
    assert source["untracked"] == ["notes.txt"]  # the rename's second path is not untracked


@needs_git
def test_untracked_files_are_listed_but_do_not_make_tree_dirty(repo: Path) -> None:
    (repo / "scratch.txt").write_text("notes\n")
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("1\n")

    source = source_of(repo)

    assert source is not None
    assert source["dirty"] is False
    assert source["untracked"] == ["data/", "scratch.txt"]
    assert source["untracked_truncated"] is False
    assert "notes" not in source["diff"]  # names only, never contents


@needs_git
def test_huge_diff_is_truncated_at_a_line_boundary(repo: Path) -> None:
    line = "x" * 99 + "\n"
    (repo / "train.py").write_text(line * (DIFF_LIMIT_BYTES // len(line) + 500))

    source = source_of(repo)

    assert source is not None
    assert source["diff_truncated"] is True
    assert 0 < len(source["diff"].encode()) <= DIFF_LIMIT_BYTES
    assert source["diff"].endswith("\n")


@needs_git
def test_remote_credentials_are_stripped(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://user:secret@example.com/r.git")

    ctx = capture_run_context(GIT_ONLY, cwd=str(repo))

    assert ctx.source is not None
    assert ctx.source["remote_url"] == "https://example.com/r.git"
    assert "secret" not in json.dumps(dataclasses.asdict(ctx))


@needs_git
def test_origin_is_preferred_over_other_remotes(repo: Path) -> None:
    git(repo, "remote", "add", "another", "https://example.com/fork.git")
    git(repo, "remote", "add", "origin", "git@example.com:org/main.git")

    source = source_of(repo)

    assert source is not None
    assert source["remote_url"] == "git@example.com:org/main.git"


@needs_git
def test_first_remote_is_used_without_origin(repo: Path) -> None:
    git(repo, "remote", "add", "upstream.mirror", "https://example.com/up.git")

    source = source_of(repo)

    assert source is not None
    assert source["remote_url"] == "https://example.com/up.git"


@needs_git
def test_detached_head_has_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach", "HEAD")

    source = source_of(repo)

    assert source is not None
    assert source["branch"] is None
    assert source["commit"] == git(repo, "rev-parse", "HEAD")


@needs_git
def test_repo_without_commits_has_no_commit_and_no_diff(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "train.py").write_text("pass\n")

    source = source_of(tmp_path)

    assert source is not None
    assert source["commit"] is None
    assert source["branch"] == "main"
    assert source["diff"] is None
    assert source["untracked"] == ["train.py"]


@needs_git
def test_entry_path_is_relative_to_repo_root(repo: Path) -> None:
    (repo / "src").mkdir()
    script = repo / "src" / "train.py"
    script.write_text("pass\n")

    source = capture_git(repo / "src", entry_file=script)

    assert source is not None
    assert source["entry_path"] == "src/train.py"


@needs_git
def test_entry_path_outside_repo_is_none(repo: Path, tmp_path: Path) -> None:
    source = capture_git(repo, entry_file=tmp_path / "elsewhere.py")

    assert source is not None
    assert source["entry_path"] is None


@needs_git
def test_subdirectory_finds_the_repo(repo: Path) -> None:
    (repo / "deep" / "er").mkdir(parents=True)

    source = source_of(repo / "deep" / "er")

    assert source is not None
    assert Path(source["repo_root"]).resolve() == repo.resolve()


@needs_git
def test_without_diff_keeps_dirty_flag_but_no_diff_or_untracked(repo: Path) -> None:
    (repo / "train.py").write_text("changed\n")
    (repo / "scratch.txt").write_text("notes\n")

    source = source_of(repo, git_diff=False)

    assert source is not None
    assert source["dirty"] is True
    assert source["diff"] is None
    assert source["untracked"] is None
    assert source["commit"] is not None


@needs_git
def test_inside_git_directory_is_not_a_work_tree(repo: Path) -> None:
    assert source_of(repo / ".git") is None


def test_not_a_repo_gives_none_without_starting_a_process(
    outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forbid_processes(monkeypatch)

    assert source_of(outside) is None


def test_missing_directory_gives_none(tmp_path: Path) -> None:
    assert source_of(tmp_path / "does-not-exist") is None


@needs_git
def test_git_not_installed_gives_none(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = repo.parent / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    assert source_of(repo) is None


@needs_git
def test_git_failure_gives_none(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = repo.parent / "fake-bin"
    fake_bin.mkdir()
    fake_git = fake_bin / "git"
    fake_git.write_text("#!/bin/sh\necho 'fatal: broken' >&2\nexit 128\n")
    fake_git.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake_bin))

    assert source_of(repo) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@example.com/r.git", "https://example.com/r.git"),
        ("https://ghp_token123@github.com/org/r.git", "https://github.com/org/r.git"),
        ("http://u:p@example.com:8080/r.git", "http://example.com:8080/r.git"),
        ("https://example.com/r.git?private_token=abc#frag", "https://example.com/r.git"),
        ("https://example.com/r.git", "https://example.com/r.git"),
        ("ssh://git@example.com:2222/org/r.git", "ssh://git@example.com:2222/org/r.git"),
        ("ssh://git:hunter2@example.com/org/r.git", "ssh://git@example.com/org/r.git"),
        ("git+ssh://me:pw@example.com/r.git", "git+ssh://me@example.com/r.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("deploy:pw@github.com:org/repo.git", "deploy@github.com:org/repo.git"),
        ("github.com:org/repo.git", "github.com:org/repo.git"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
        ("../sibling", "../sibling"),
        ("file:///srv/git/repo.git", "file:///srv/git/repo.git"),
        ("https://u:p@[::1]:8443/r.git", "https://[::1]:8443/r.git"),
        ("https://u:p@[::1/r.git", "https://[::1/r.git"),
    ],
)
def test_strip_credentials(url: str, expected: str) -> None:
    assert strip_credentials(url) == expected


def test_slow_command_is_killed_and_gives_none() -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]

    assert _read_capped(sleeper, Path.cwd(), limit=100, timeout=0.2) is None


def test_capped_read_stops_at_the_limit() -> None:
    # Far more output than the limit: the writer is killed rather than drained.
    writer = [sys.executable, "-c", "while True: print('a' * 9)"]

    captured = _read_capped(writer, Path.cwd(), limit=25, timeout=10)

    assert captured == (b"aaaaaaaaa\naaaaaaaaa\n", True)


# --- command ---------------------------------------------------------------------------------


def test_command_records_argv_executable_and_cwd() -> None:
    cmd = capture_command()

    assert cmd["argv"] == sys.argv
    assert cmd["argv"] is not sys.argv
    assert cmd["executable"] == sys.executable
    assert cmd["cwd"] == os.getcwd()


def _main_module(file: str | None = None, spec_name: str | None = None) -> types.ModuleType:
    main = types.ModuleType("__main__")
    if file is not None:
        main.__file__ = file
    main.__spec__ = ModuleSpec(spec_name, None) if spec_name is not None else None
    return main


def test_entry_point_of_a_script(tmp_path: Path) -> None:
    script = str(tmp_path / "train.py")

    assert detect_entry_point(_main_module(file=script)) == EntryPoint("script", script, script)


@pytest.mark.parametrize(
    ("spec_name", "module"), [("trainer.__main__", "trainer"), ("trainer.run", "trainer.run")]
)
def test_entry_point_of_a_module(tmp_path: Path, spec_name: str, module: str) -> None:
    file = str(tmp_path / "trainer" / "run.py")

    entry = detect_entry_point(_main_module(file=file, spec_name=spec_name))

    assert entry == EntryPoint("module", module, file)


def test_entry_point_of_a_zip_app_is_a_script(tmp_path: Path) -> None:
    file = str(tmp_path / "app.pyz" / "__main__.py")

    entry = detect_entry_point(_main_module(file=file, spec_name="__main__"))

    assert entry.kind == "script"


def test_entry_point_interactive() -> None:
    assert detect_entry_point(_main_module()) == EntryPoint("interactive", "interactive", None)


def test_command_uses_the_real_main_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = str(tmp_path / "train.py")
    monkeypatch.setitem(sys.modules, "__main__", _main_module(file=script))

    cmd = capture_command()

    assert (cmd["entry_kind"], cmd["entry_point"], cmd["entry_file"]) == (
        "script",
        script,
        script,
    )


@needs_git
def test_repo_of_the_script_is_used_when_no_cwd_given(
    repo: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "__main__", _main_module(file=str(repo / "train.py")))
    monkeypatch.chdir(outside)

    source = capture_run_context(GIT_ONLY).source

    assert source is not None
    assert source["entry_path"] == "train.py"


@needs_git
def test_working_directory_is_used_when_script_is_outside_a_repo(
    repo: Path, outside: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "__main__", _main_module(file=str(outside / "t.py")))
    monkeypatch.chdir(repo)

    source = capture_run_context(GIT_ONLY).source

    assert source is not None
    assert Path(source["repo_root"]).resolve() == repo.resolve()
    assert source["entry_path"] is None


@pytest.mark.parametrize(
    ("how", "kind", "entry_point"),
    [
        (["-m", "trainmod"], "module", "trainmod"),
        (["trainmod.py"], "script", "{dir}/trainmod.py"),
        (["-c", "import trainmod; trainmod.main()"], "interactive", "interactive"),
    ],
    ids=["module", "script", "dash-c"],
)
def test_entry_point_of_real_processes(
    tmp_path: Path, how: list[str], kind: str, entry_point: str
) -> None:
    (tmp_path / "trainmod.py").write_text(
        "import json\n"
        "from mled.capture.command import capture_command\n"
        "def main():\n"
        "    print(json.dumps(capture_command()))\n"
        "if __name__ == '__main__':\n"
        "    main()\n"
    )
    src = Path(mled.capture.__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, *how],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(tmp_path)])},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    cmd = json.loads(done.stdout)
    assert (cmd["entry_kind"], cmd["entry_point"]) == (kind, entry_point.format(dir=tmp_path))
    assert Path(cmd["cwd"]).resolve() == tmp_path.resolve()


# --- environment -----------------------------------------------------------------------------


def test_packages_list_installed_distributions() -> None:
    packages = installed_packages()

    assert packages["pytest"] == importlib.metadata.version("pytest")
    assert list(packages) == sorted(packages)
    assert all(name == name.lower() and "_" not in name for name in packages)


def test_packages_are_cached_and_returned_as_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    first = installed_packages()
    first["pytest"] = "tampered"

    def refuse() -> NoReturn:
        pytest.fail("the installation was scanned again")

    monkeypatch.setattr(importlib.metadata, "distributions", refuse)

    assert installed_packages()["pytest"] == importlib.metadata.version("pytest")


def test_clear_package_cache_rescans(monkeypatch: pytest.MonkeyPatch) -> None:
    installed_packages()
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(()))
    clear_package_cache()
    try:
        assert installed_packages() == {}
    finally:
        monkeypatch.undo()
        clear_package_cache()
    assert "pytest" in installed_packages()


def test_environment_describes_python_and_machine() -> None:
    env = capture_environment()

    assert env["python"] == {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
    }
    assert env["os"]["system"] == platform.system()
    assert env["os"]["machine"] == platform.machine()
    assert env["hostname"]
    assert env["cpu"]["count"] == os.cpu_count()
    assert "pytest" in env["packages"]


def test_environment_starts_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # platform.platform() and uname().processor would run `uname -p`; pip would be a process.
    clear_package_cache()
    forbid_processes(monkeypatch)

    env = capture_environment()

    assert env["packages"]


def test_only_whitelisted_env_vars_are_captured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-record-me")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)

    env = capture_environment(include_packages=False)

    assert set(env["env"]) == set(REPRODUCIBILITY_ENV_VARS)
    assert env["env"]["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env["env"]["OMP_NUM_THREADS"] is None
    assert "do-not-record-me" not in json.dumps(env)


@pytest.fixture
def fake_proc(tmp_path: Path) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cpuinfo").write_text(
        "processor\t: 0\nmodel\t\t: 2\nmodel name\t: Example CPU 9000\n\n"
        "processor\t: 1\nmodel name\t: Example CPU 9000\n"
    )
    (proc / "meminfo").write_text("MemTotal:       16318292 kB\nMemFree:  1 kB\n")
    nvidia = proc / "driver" / "nvidia"
    for bus, model in [("0000:07:00.0", "NVIDIA A100-SXM4-40GB"), ("0000:0a:00.0", "Tesla T4")]:
        (nvidia / "gpus" / bus).mkdir(parents=True)
        (nvidia / "gpus" / bus / "information").write_text(
            f"Model: \t\t {model}\nIRQ:   \t\t 42\nBus Location: \t {bus}\n"
        )
    (nvidia / "version").write_text(
        "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 2023\n"
        "GCC version:  gcc version 12.2.0\n"
    )
    return proc


def test_hardware_is_read_from_proc(fake_proc: Path) -> None:
    assert cpu_info(fake_proc)["model"] == "Example CPU 9000"
    assert memory_total_bytes(fake_proc) == 16318292 * 1024
    assert gpu_info(fake_proc) == {
        "devices": [
            {"model": "NVIDIA A100-SXM4-40GB", "bus_location": "0000:07:00.0"},
            {"model": "Tesla T4", "bus_location": "0000:0a:00.0"},
        ],
        "driver": "535.104.05",
    }


def test_open_kernel_module_driver_version(fake_proc: Path) -> None:
    (fake_proc / "driver" / "nvidia" / "version").write_text(
        "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build\n"
    )

    assert gpu_info(fake_proc)["driver"] == "550.54.14"


def test_arm_cpuinfo_falls_back_to_hardware(tmp_path: Path) -> None:
    (tmp_path / "cpuinfo").write_text("processor\t: 0\nBogoMIPS\t: 38.40\nHardware\t: BCM2835\n")

    assert cpu_info(tmp_path)["model"] == "BCM2835"


def test_missing_proc_gives_none_not_errors(tmp_path: Path) -> None:
    absent = tmp_path / "no-proc"

    assert cpu_info(absent)["model"] is None
    assert gpu_info(absent) == {"devices": [], "driver": None}
    # Without /proc/meminfo the POSIX sysconf fallback still answers where it exists.
    total = memory_total_bytes(absent)
    assert total is None or total > 0


# --- the whole context -----------------------------------------------------------------------


@needs_git
def test_full_context_is_json_serialisable(repo: Path) -> None:
    (repo / "train.py").write_text("print('\u00e9t\u00e9 \U0001f600')\n")
    (repo / "blob.bin").write_bytes(bytes(range(256)))
    git(repo, "add", "blob.bin")

    ctx = capture_run_context(cwd=str(repo))
    as_dict = dataclasses.asdict(ctx)

    assert json.loads(json.dumps(as_dict, allow_nan=False)) == as_dict
    assert ctx.source is not None
    assert ctx.command is not None
    assert ctx.environment is not None


@pytest.mark.parametrize(
    ("options", "empty_parts"),
    [
        (CaptureOptions(git=False), {"source"}),
        (CaptureOptions(command=False), {"command"}),
        (CaptureOptions(environment=False), {"environment"}),
        (
            CaptureOptions(git=False, command=False, environment=False),
            {"source", "command", "environment"},
        ),
    ],
    ids=["no-git", "no-command", "no-environment", "nothing"],
)
@needs_git
def test_switched_off_parts_are_none(
    repo: Path, options: CaptureOptions, empty_parts: set[str]
) -> None:
    ctx = capture_run_context(options, cwd=str(repo))

    for part in ("source", "command", "environment"):
        assert (getattr(ctx, part) is None) == (part in empty_parts), part


def test_packages_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture_environment_module, "installed_packages", _refuse_packages)

    ctx = capture_run_context(CaptureOptions(git=False, packages=False))

    assert ctx.environment is not None
    assert ctx.environment["packages"] is None


def _refuse_packages() -> NoReturn:
    pytest.fail("packages were listed although switched off")


def test_failing_part_is_logged_and_recorded_as_none(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(**kwargs: object) -> NoReturn:
        raise RuntimeError("boom")

    monkeypatch.setattr(capture_environment_module, "capture_environment", broken)

    with caplog.at_level(logging.WARNING, logger="mled.capture"):
        ctx = capture_run_context(CaptureOptions(git=False))

    assert ctx.environment is None
    assert ctx.command is not None
    assert "could not capture the environment" in caplog.text


def test_run_context_is_frozen() -> None:
    ctx = RunContext(source=None, command=None, environment=None)

    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.source = {}  # type: ignore[misc]


def test_import_is_light() -> None:
    src = Path(mled.capture.__file__).resolve().parents[2]
    # Only what mled.capture itself pulls in counts, not what the parent package imports.
    code = (
        "import sys, mled; before = set(sys.modules); import mled.capture; "
        "heavy = ('numpy', 'torch', 'importlib.metadata'); "
        "print(sorted(m for m in heavy if m in set(sys.modules) - before))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert done.stdout.strip() == "[]"


# --- seeds -----------------------------------------------------------------------------------


@pytest.fixture
def restore_hash_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """seed_everything sets PYTHONHASHSEED; let monkeypatch put the old value back."""
    monkeypatch.setenv("PYTHONHASHSEED", "0")


@pytest.fixture
def fake_torch(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    calls = types.SimpleNamespace(manual_seed=[], cuda_seed_all=[], cuda=True)
    torch = types.ModuleType("torch")
    torch.manual_seed = calls.manual_seed.append  # type: ignore[attr-defined]
    torch.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        is_available=lambda: calls.cuda, manual_seed_all=calls.cuda_seed_all.append
    )
    monkeypatch.setitem(sys.modules, "torch", torch)
    return calls


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_makes_random_reproducible() -> None:
    seed_everything(1234)
    first = [random.random() for _ in range(3)]
    seed_everything(1234)

    assert [random.random() for _ in range(3)] == first


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_makes_numpy_reproducible() -> None:
    np = pytest.importorskip("numpy")
    seed_everything(99)
    first = np.random.rand(3).tolist()
    seed_everything(99)

    assert np.random.rand(3).tolist() == first


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_report_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numpy")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail

    report = seed_everything(42)

    assert report == {
        "seed": 42,
        "random": 42,
        "numpy": 42,
        "torch": None,
        "torch_cuda": None,
        "PYTHONHASHSEED": "42",
    }
    assert os.environ["PYTHONHASHSEED"] == "42"
    assert json.loads(json.dumps(report)) == report


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    monkeypatch.setitem(sys.modules, "torch", None)

    assert seed_everything(5)["numpy"] is None


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_torch_and_cuda(fake_torch: types.SimpleNamespace) -> None:
    report = seed_everything(7)

    assert fake_torch.manual_seed == [7]
    assert fake_torch.cuda_seed_all == [7]
    assert (report["torch"], report["torch_cuda"]) == (7, 7)


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_torch_without_cuda(fake_torch: types.SimpleNamespace) -> None:
    fake_torch.cuda = False

    report = seed_everything(7)

    assert fake_torch.manual_seed == [7]
    assert fake_torch.cuda_seed_all == []
    assert (report["torch"], report["torch_cuda"]) == (7, None)


@pytest.mark.parametrize("seed", [-1, 2**32, True, 1.5, "42", None])
def test_invalid_seed_is_rejected(seed: Any) -> None:
    with pytest.raises(InvalidInput, match="seed must be an int"):
        seed_everything(seed)


@pytest.mark.usefixtures("restore_hash_seed")
def test_seed_bounds_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)

    assert seed_everything(0)["seed"] == 0
    assert seed_everything(2**32 - 1)["seed"] == 2**32 - 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["t.py", "--api-key", "sk-1"], ["t.py", "--api-key", "***"]),
        (["t.py", "--token=abc", "--lr=0.1"], ["t.py", "--token=***", "--lr=0.1"]),
        (["t.py", "--db-password", "p", "x"], ["t.py", "--db-password", "***", "x"]),
        (["t.py", "--AWS_SECRET_ACCESS_KEY=z"], ["t.py", "--AWS_SECRET_ACCESS_KEY=***"]),
        (["t.py", "--epochs", "3"], ["t.py", "--epochs", "3"]),
    ],
)
def test_secret_option_values_are_redacted(argv: list[str], expected: list[str]) -> None:
    from mled.capture.command import redact_argv

    assert redact_argv(argv) == expected
