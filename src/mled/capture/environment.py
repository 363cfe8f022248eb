"""The environment of a run: interpreter, installed packages, machine and a few env vars.

Nothing here spawns a process or imports a heavy library: packages come from
``importlib.metadata`` (read once per process), hardware from ``/proc`` where it exists.
Only the variables in :data:`REPRODUCIBILITY_ENV_VARS` are read from the environment, so
secrets held in other variables are never recorded.

Example:
    >>> env = capture_environment(include_packages=False)
    >>> env["python"]["version"] == platform.python_version()
    True
"""

from __future__ import annotations

import functools
import os
import platform
import re
import socket
from pathlib import Path
from typing import Any

REPRODUCIBILITY_ENV_VARS = (
    "PYTHONHASHSEED",
    "CUDA_VISIBLE_DEVICES",
    "OMP_NUM_THREADS",
    "CUBLAS_WORKSPACE_CONFIG",
)
"""The only environment variables ever captured (unset ones are recorded as None)."""

PROC_ROOT = Path("/proc")

# ``/proc/cpuinfo`` keys naming the CPU model: x86 and recent arm64, then older ARM/MIPS boards.
_CPU_MODEL_KEYS = ("model name", "cpu model", "Hardware", "Model")


def capture_environment(
    *, include_packages: bool = True, proc_root: Path = PROC_ROOT
) -> dict[str, Any]:
    """Describe the interpreter, packages, OS and hardware of the current process.

    Args:
        include_packages: include ``{distribution name: version}``; None when False.
        proc_root: where to read ``cpuinfo``, ``meminfo`` and NVIDIA driver files (tests
            point it at a fake tree).

    Returns:
        ``{"python", "packages", "os", "hostname", "cpu", "memory_total_bytes", "gpu",
        "env"}``.

    Example:
        >>> env = capture_environment()
        >>> "pytest" in env["packages"]  # doctest: +SKIP
        True
    """
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "packages": installed_packages() if include_packages else None,
        "os": os_info(),
        "hostname": socket.gethostname(),
        "cpu": cpu_info(proc_root),
        "memory_total_bytes": memory_total_bytes(proc_root),
        "gpu": gpu_info(proc_root),
        "env": {name: os.environ.get(name) for name in REPRODUCIBILITY_ENV_VARS},
    }


def installed_packages() -> dict[str, str]:
    """Installed distributions as ``{normalized name: version}``, sorted by name.

    Read once per process (scanning every ``*.dist-info`` takes tens of milliseconds); call
    :func:`clear_package_cache` after installing packages at run time. Names are normalized
    as in PEP 503 (``Typing_Extensions`` -> ``typing-extensions``); when a distribution is
    installed twice the first one on ``sys.path`` wins, as it does for imports.

    Example:
        >>> installed_packages()["pytest"]  # doctest: +SKIP
        '8.3.2'
    """
    return dict(_package_snapshot())  # a copy: callers may mutate it, the cache stays intact


def clear_package_cache() -> None:
    """Forget the package list so that the next capture scans the installation again."""
    _package_snapshot.cache_clear()


@functools.cache
def _package_snapshot() -> tuple[tuple[str, str], ...]:
    # Imported here: importlib.metadata costs ~30 ms to import and most imports of
    # mled.capture never need it.
    from importlib.metadata import distributions

    found: dict[str, str] = {}
    for dist in distributions():
        # get_all(): indexing a missing field warns on newer Pythons; broken installs lack some.
        names = dist.metadata.get_all("Name") or []
        versions = dist.metadata.get_all("Version") or []
        if names and versions:
            found.setdefault(_normalize(str(names[0])), str(versions[0]))
    return tuple(sorted(found.items()))


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def os_info() -> dict[str, Any]:
    """OS name, kernel release and version, machine type and (on Linux) the distribution.

    Built from ``platform.uname()`` fields one by one: ``platform.platform()`` and
    ``uname().processor`` run ``uname -p`` in a subprocess on Linux.
    """
    uname = platform.uname()
    return {
        "system": uname.system,
        "release": uname.release,
        "version": uname.version,
        "machine": uname.machine,
        "platform": f"{uname.system}-{uname.release}-{uname.machine}",
        "distribution": _linux_distribution() if uname.system == "Linux" else None,
    }


def _linux_distribution() -> str | None:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME")
    except OSError:
        return None


def cpu_info(proc_root: Path = PROC_ROOT) -> dict[str, Any]:
    """CPU model (from ``cpuinfo`` when present), logical CPU count and CPUs usable here."""
    return {
        "model": _cpu_model(proc_root / "cpuinfo"),
        "count": os.cpu_count(),
        "available": _available_cpus(),
    }


def _cpu_model(cpuinfo: Path) -> str | None:
    found: dict[str, str] = {}
    try:
        with cpuinfo.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, sep, value = line.partition(":")
                key = key.strip()
                if sep and key in _CPU_MODEL_KEYS and value.strip():
                    found.setdefault(key, value.strip())
                    if key == _CPU_MODEL_KEYS[0]:
                        break  # the file repeats it per core; big machines have hundreds
    except OSError:
        return None
    return next((found[key] for key in _CPU_MODEL_KEYS if key in found), None)


def _available_cpus() -> int | None:
    # The affinity mask is what a container or `taskset` actually grants the process.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def memory_total_bytes(proc_root: Path = PROC_ROOT) -> int | None:
    """Physical memory in bytes: ``MemTotal`` from ``meminfo``, else ``sysconf``, else None."""
    try:
        with (proc_root / "meminfo").open(encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def gpu_info(proc_root: Path = PROC_ROOT) -> dict[str, Any]:
    """NVIDIA GPUs and driver version as the kernel driver exposes them under ``/proc``.

    Deliberately shallow: asking CUDA (via torch or NVML) would cost seconds and may
    initialize a device. Which GPUs the run may use is in the ``CUDA_VISIBLE_DEVICES`` entry
    of the captured env vars.
    """
    nvidia = proc_root / "driver" / "nvidia"
    devices = [
        {"model": _information_field(info, "Model"), "bus_location": info.parent.name}
        for info in sorted(nvidia.glob("gpus/*/information"))
    ]
    return {"devices": devices, "driver": _nvidia_driver_version(nvidia / "version")}


def _information_field(path: Path, field: str) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(rf"^{re.escape(field)}:\s*(.+?)\s*$", text, re.MULTILINE)
    return match.group(1) if match else None


def _nvidia_driver_version(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"Kernel Module\s+(?:for\s+\S+\s+)?(\d[\w.]*)", text)
    return match.group(1) if match else None
