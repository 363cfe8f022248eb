"""The command line as users run it: a separate process, through ``python -m mled``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, home: Path, store: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLED_", "FORCE_COLOR"))}
    env.update({"MLED_HOME": str(home), "MLED_USER": "alice", "NO_COLOR": "1"})
    if store is not None:
        env["MLED_TRACKING_URI"] = store
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_python_m_mled_end_to_end(store_uri: str, tmp_path: Path) -> None:
    created = run("-m", "mled", "projects", "create", "vision", home=tmp_path, store=store_uri)
    assert created.returncode == 0, created.stderr
    listed = run("-m", "mled", "projects", "list", "--json", home=tmp_path, store=store_uri)
    assert [p["name"] for p in json.loads(listed.stdout)] == ["vision"]
    missing = run("-m", "mled", "experiments", "show", "abc", home=tmp_path, store=store_uri)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.startswith("error[experiment_not_found]: ")
    assert "Traceback" not in missing.stderr


def test_embedded_default_store_under_mled_home(tmp_path: Path) -> None:
    result = run("-m", "mled", "projects", "create", "vision", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mled.db").exists()


def test_help_does_not_import_the_database_layer(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mled.cli.app import build_app\n"
        "for args in (['--help'], ['experiments', '--help'], ['db', 'upgrade', '--help']):\n"
        "    try:\n"
        "        build_app()(args, prog_name='mled')\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, e.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
    )
    result = run("-c", code, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "HEAVY []"
    assert "Usage: mled" in result.stdout


def test_import_mled_does_not_import_the_cli(tmp_path: Path) -> None:
    code = (
        "import sys, mled\n"
        "print(sorted(m for m in sys.modules if m.startswith(('mled.cli', 'typer', 'rich'))))"
    )
    result = run("-c", code, home=tmp_path)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("args", [("--help",), ("db", "--help")])
def test_console_script_runs(args: tuple[str, ...], tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("mled")
    if not script.exists():
        pytest.skip("the mled console script is not installed in this environment")
    result = subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MLED_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: mled" in result.stdout
