"""The README stays true: its Python examples run, and its settings table matches the code.

Every fenced ``python`` block of README.md is run, in order, as one script in a fresh
interpreter, against a fresh store of each backend (selected through MLED_TRACKING_URI, with
MLED_HOME pointing at a temporary directory), exactly as a reader would paste them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SETTINGS = ROOT / "src" / "mled" / "settings.py"
FENCE = re.compile(
    r"^```(?P<lang>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE
)
ENV_VAR = re.compile(r"\bMLED_[A-Z0-9_]+\b")


def code_blocks(lang: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return [m["body"] for m in FENCE.finditer(text) if m["lang"] == lang]


def test_readme_python_examples_run(store_uri: str, tmp_path: Path) -> None:
    blocks = code_blocks("python")
    assert len(blocks) >= 3, "the README lost its Python examples"
    script = tmp_path / "readme_examples.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    env = {
        **os.environ,
        "MLED_HOME": str(tmp_path / "home"),
        "MLED_TRACKING_URI": store_uri,
        "MLED_USER": "readme-reader",
        "MLED_CAPTURE_GIT_DIFF": "0",
    }
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"README examples failed:\n{done.stdout}\n{done.stderr}"
    out = done.stdout
    assert "param_conflict" in out
    assert "finished 2.0" in out  # the already-run experiment kept its own times
    assert "linear-closed-form" in out  # listed by the Client


def test_readme_documents_exactly_the_settings_the_code_reads() -> None:
    readme = set(ENV_VAR.findall(README.read_text(encoding="utf-8")))
    settings = set(ENV_VAR.findall(SETTINGS.read_text(encoding="utf-8")))
    assert settings - readme == set(), "settings missing from the README's Configuration table"
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    source += (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
    invented = sorted(name for name in readme if name not in source)
    assert not invented, f"the README names variables nothing reads: {invented}"


def test_quick_start_is_exactly_make_run_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    first_block = FENCE.search(quick_start)
    assert first_block is not None
    assert first_block["body"].split() == ["make", "run", "make", "test"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^run:", makefile, re.MULTILINE)
    assert re.search(r"^test:", makefile, re.MULTILINE)
    assert "mled.demo --if-empty" in makefile


def test_readme_cli_examples_name_real_commands() -> None:
    from typer.testing import CliRunner

    from mled.cli.app import build_app

    lines = [
        line.split("#", 1)[0].split()
        for block in code_blocks("console")
        for line in block.splitlines()
        if line.startswith("$ mled ")
    ]
    assert lines, "the README lost its CLI examples"
    app = build_app()
    for words in lines:
        args = words[2:]  # after "$ mled"
        result = CliRunner().invoke(app, [*args, "--help"])
        assert result.exit_code == 0, f"`mled {' '.join(args)}` is not a command:\n{result.output}"
