"""The MLflow side's own virtualenv: ``bench/.venv-mlflow`` with a pinned MLflow from PyPI.

MLflow pulls in many packages that MLED's environment must not see, so it lives in a venv of
its own, built from the same base interpreter as MLED's. The venv is created on first use and
reused afterwards; a stamp file records the pinned version so a changed pin reinstalls.

Run directly to create or check it::

    .venv/bin/python bench/mlflow_env.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv
from pathlib import Path

MLFLOW_VERSION = "3.17.2"
BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_VENV = BENCH_DIR / ".venv-mlflow"
STAMP_NAME = ".mled-bench-mlflow"


def venv_python(venv_dir: Path = DEFAULT_VENV) -> Path:
    """The interpreter of the MLflow venv."""
    return venv_dir / "bin" / "python"


def quiet_env() -> dict[str, str]:
    """Environment for MLflow processes: no telemetry, no git probing noise."""
    env = dict(os.environ)
    env.update(
        {
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "GIT_PYTHON_REFRESH": "quiet",
        }
    )
    return env


def installed_version(venv_dir: Path = DEFAULT_VENV) -> str | None:
    """The MLflow version importable in the venv, or None when it is missing or broken."""
    python = venv_python(venv_dir)
    if not python.exists():
        return None
    probe = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
        env=quiet_env(),
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _stamp_ok(venv_dir: Path, version: str) -> bool:
    stamp = venv_dir / STAMP_NAME
    return stamp.exists() and stamp.read_text().strip() == version


def ensure_mlflow(
    version: str = MLFLOW_VERSION, venv_dir: Path = DEFAULT_VENV, *, log: bool = True
) -> Path:
    """Create the venv and install ``mlflow==version`` unless it is already there.

    Returns the venv's python. Raises ``RuntimeError`` when pip fails.
    """
    if _stamp_ok(venv_dir, version) and installed_version(venv_dir) == version:
        return venv_python(venv_dir)
    if log:
        print(f"Installing mlflow=={version} into {venv_dir} (first run only) ...", flush=True)
    if not venv_python(venv_dir).exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    pip = [str(venv_python(venv_dir)), "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "--quiet", "--upgrade", "pip"])
    _run([*pip, "install", "--quiet", f"mlflow=={version}"])
    got = installed_version(venv_dir)
    if got != version:
        raise RuntimeError(f"mlflow {version} was installed but {got!r} is importable")
    (venv_dir / STAMP_NAME).write_text(version + "\n")
    return venv_python(venv_dir)


def _run(cmd: list[str]) -> None:
    """Run a pip command quietly; on failure raise with the end of its output."""
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise RuntimeError(f"exit code {done.returncode}: {' '.join(cmd)}\n{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=MLFLOW_VERSION, help="MLflow version to pin")
    args = parser.parse_args()
    python = ensure_mlflow(args.version)
    print(f"mlflow {installed_version()} ready: {python}")


if __name__ == "__main__":
    sys.exit(main())
