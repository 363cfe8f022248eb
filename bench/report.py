"""Figures, comparison rows, the printed table, and a description of the machine."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Stat:
    """Median and best of one measure over its repetitions."""

    median: float
    best: float
    samples: int

    @classmethod
    def of(cls, values: Sequence[float], better: Better) -> Stat:
        best = max(values) if better == "higher" else min(values)
        return cls(statistics.median(values), best, len(values))


@dataclass(frozen=True)
class Target:
    """A goal for MLED's figures, checked on a finished row."""

    text: str
    check: Callable[[Row], bool]


@dataclass(frozen=True)
class Row:
    """One line of the table: the same measure for MLED and MLflow."""

    bench: str
    measure: str
    unit: str
    better: Better
    mled: Stat | None
    mlflow: Stat | None
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better MLED is than MLflow (on medians); > 1 means MLED wins."""
        if self.mled is None or self.mlflow is None:
            return None
        a, b = self.mled.median, self.mlflow.median
        return a / b if self.better == "higher" else b / a

    def status(self, *, quick: bool) -> str:
        if self.target is None:
            return ""
        if quick:
            return "n/a (--quick)"
        return "met" if self.target.check(self) else "MISSED"

    def as_json(self, *, quick: bool) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "measure": self.measure,
            "unit": self.unit,
            "better": self.better,
            "mled": None if self.mled is None else vars(self.mled),
            "mlflow": None if self.mlflow is None else vars(self.mlflow),
            "ratio": self.ratio,
            "target": None if self.target is None else self.target.text,
            "status": self.status(quick=quick),
            "note": self.note,
        }


# --- the printed table -----------------------------------------------------------------------


def _number(value: float, unit: str) -> str:
    if unit.endswith("/s"):
        return f"{value:,.0f}"
    return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def _cell(stat: Stat | None, unit: str, better: Better) -> str:
    if stat is None:
        return "-"
    best = "max" if better == "higher" else "min"
    return f"{_number(stat.median, unit)} ({best} {_number(stat.best, unit)})"


def _ratio(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}x" if value >= 100 else f"{value:,.1f}x"


def markdown_table(rows: Sequence[Row], *, quick: bool) -> str:
    """The comparison as a Markdown table with numbered notes below it."""
    head = ["benchmark", "measure", "MLED median (best)", "MLflow median (best)", "MLED advantage"]
    head += ["target", "status"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes: list[str] = []
    for r in rows:
        measure = f"{r.measure}, {r.unit}"
        if r.note:
            notes.append(r.note)
            measure += f" [{len(notes)}]"
        cells = [
            r.bench,
            measure,
            _cell(r.mled, r.unit, r.better),
            _cell(r.mlflow, r.unit, r.better),
            _ratio(r.ratio),
            r.target.text if r.target else "",
            r.status(quick=quick),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if notes:
        lines.append("")
        lines.extend(f"[{i}] {note}" for i, note in enumerate(notes, 1))
    return "\n".join(lines)


# --- the machine -----------------------------------------------------------------------------


def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        return None
    return None


def _git_commit(repo: Path) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or None


def filesystem_of(path: Path) -> str | None:
    """The type of the filesystem holding ``path`` (fsync costs differ: ext4 vs tmpfs)."""
    best, fstype = "", None
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    target = str(path.resolve())
    for line in mounts:
        parts = line.split()
        if len(parts) > 2 and (target + "/").startswith(parts[1].rstrip("/") + "/"):
            if len(parts[1]) >= len(best):
                best, fstype = parts[1], parts[2]
    return fstype


def machine_info(repo: Path) -> dict[str, Any]:
    """CPU model, cores, memory, OS, the temp filesystem and the commit measured."""
    mem_kb = _first("/proc/meminfo", "MemTotal")
    os_name = _first("/etc/os-release", "PRETTY_NAME=")
    cpuinfo, tab = "/proc/cpuinfo", "\t"
    flags = (_first(cpuinfo, "flags") or "").split()
    return {
        "cpu": _first(cpuinfo, "model name"),
        "cpu_family_model": f"{_first(cpuinfo, 'cpu family')}/{_first(cpuinfo, 'model' + tab)}",
        "virtualized": "hypervisor" in flags,
        "cores": os.cpu_count(),
        "tmp_filesystem": filesystem_of(Path(tempfile.gettempdir())),
        "memory_gib": round(int(mem_kb.split()[0]) / 2**20, 1) if mem_kb else None,
        "os": (os_name or "").strip('"') or platform.platform(),
        "kernel": platform.release(),
        "commit": _git_commit(repo),
    }
