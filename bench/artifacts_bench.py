"""Benchmark: hashing and logging a dataset folder, next to ``sha256sum`` on the same files.

Generates a folder of random files under /tmp (by default 10,000 files, 1 GiB in total, sizes
spread from 4 KiB to ~210 KiB), then times on a warm page cache:

- ``sha256sum`` over every file (one process through ``xargs``, as a user would run it);
- MLED's hashing alone (``walk_files`` + ``hash_files``: the manifest of ``log_dataset``),
  with its default thread pool and with one thread;
- ``log_dataset(store=False)``: hashing + recording the version in a fresh SQLite store;
- ``log_dataset(store=True)`` of a new dataset: one pass that hashes and stores each file in a
  local content-addressed store, then one file-system sync (durability) and the version;
- ``log_dataset(store=True)`` again, unchanged: hashing, then nothing to upload;
- for scale, ``cp -r`` of the folder followed by ``sync``: what writing the bytes durably
  costs on this disk, without any hashing.

Throughput is the data size divided by the wall time; the ratio compares it with sha256sum.
Everything is deleted afterwards. Standalone (not part of ``bench/run_all.py``)::

    .venv/bin/python bench/artifacts_bench.py                  # 10,000 files, 1 GiB
    .venv/bin/python bench/artifacts_bench.py --files 500 --size-mb 50 --json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mled.artifacts.files import DEFAULT_WORKERS, hash_files, walk_files
from mled.sdk.client import Client
from mled.settings import Settings

MIB = 1024 * 1024


def generate(root: Path, files: int, total_bytes: int, seed: int = 7) -> int:
    """Write ``files`` random files summing to ``total_bytes`` in 100 subfolders."""
    rng = random.Random(seed)
    weights = [rng.uniform(0.04, 2.0) for _ in range(files)]
    scale = total_bytes / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[-1] += total_bytes - sum(sizes)
    block = os.urandom(4 * MIB)
    written = 0
    for i, size in enumerate(sizes):
        folder = root / f"part-{i % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        start = rng.randrange(0, len(block) - min(size, len(block)) + 1)
        with open(folder / f"sample-{i:05d}.bin", "wb") as f:
            remaining = size
            f.write(i.to_bytes(8, "little"))  # every file distinct
            remaining -= 8
            while remaining > 0:
                piece = block[start : start + remaining] or block[:remaining]
                f.write(piece)
                remaining -= len(piece)
        written += size
    return written


def warm(root: Path) -> None:
    """Read every file once so that every contender starts from the page cache."""
    for _, path in walk_files(root):
        with open(path, "rb") as f:
            while f.read(8 * MIB):
                pass


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """The best wall time of ``repeat`` runs (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def sha256sum(root: Path) -> None:
    find = subprocess.Popen(["find", str(root), "-type", "f", "-print0"], stdout=subprocess.PIPE)
    subprocess.run(
        ["xargs", "-0", "sha256sum"], stdin=find.stdout, stdout=subprocess.DEVNULL, check=True
    )
    find.wait()


def copy_and_sync(data: Path, work: Path, repeat: int) -> float:
    """Best time of ``cp -r`` + ``sync`` (deleting the copy is not timed)."""
    best = float("inf")
    for i in range(repeat):
        dest = work / f"cp-{i}"
        os.sync()
        start = time.perf_counter()
        subprocess.run(["cp", "-r", str(data), str(dest)], check=True)
        os.sync()
        best = min(best, time.perf_counter() - start)
        shutil.rmtree(dest)
    return best


def client_for(work: Path, name: str) -> Client:
    settings = Settings(
        home=work / name,
        tracking_uri=f"sqlite:///{work / name / 'mled.db'}",
        username="bench",
        capture_git=False,
        capture_command=False,
        capture_environment=False,
        handle_signals=False,
    )
    return Client(settings=settings)


def log_dataset(work: Path, data: Path, name: str, store: bool, times: int = 1) -> list[float]:
    """Wall times of logging ``data`` ``times`` times into one fresh store."""
    client = client_for(work, name)
    out = []
    try:
        with client.start_experiment(project="bench", name=name, capture=False) as exp:
            for _ in range(times):
                start = time.perf_counter()
                exp.log_dataset(data, "bench-data", store=store)
                out.append(time.perf_counter() - start)
    finally:
        client.close()
        shutil.rmtree(work / name, ignore_errors=True)
    return out


def run(files: int, size_mb: int, repeat: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="mled-artifacts-bench-", dir="/tmp"))
    try:
        data = work / "data"
        size = generate(data, files, size_mb * MIB)
        warm(data)
        seconds = {
            "sha256sum": timed(lambda: sha256sum(data), repeat),
            f"mled hash ({DEFAULT_WORKERS} threads)": timed(
                lambda: hash_files(walk_files(data)), repeat
            ),
            "mled hash (1 thread)": timed(lambda: hash_files(walk_files(data), 1), repeat),
        }
        seconds["log_dataset(store=False)"] = min(
            min(log_dataset(work, data, f"nostore{i}", store=False)) for i in range(repeat)
        )
        first, again = [], []
        for i in range(repeat):
            os.sync()  # start from a clean page cache writeback, like the cp reference
            new, unchanged = log_dataset(work, data, f"store{i}", store=True, times=2)
            first.append(new)
            again.append(unchanged)
        seconds["log_dataset(store=True), new"] = min(first)
        seconds["log_dataset(store=True), unchanged"] = min(again)
        seconds["cp -r + sync (reference: durable copy)"] = copy_and_sync(data, work, repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = size / MIB / seconds["sha256sum"]
    rows = [
        {
            "what": what,
            "seconds": round(s, 3),
            "mb_per_s": round(size / MIB / s, 1),
            "vs_sha256sum": round(size / MIB / s / base, 2),
        }
        for what, s in seconds.items()
    ]
    return {
        "files": files,
        "bytes": size,
        "cpus": os.cpu_count(),
        "threads": DEFAULT_WORKERS,
        "python": sys.version.split()[0],
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs (default 2)")
    parser.add_argument("--json", action="store_true", help="print the raw result as JSON")
    args = parser.parse_args()
    result = run(args.files, args.size_mb, args.repeat)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{result['files']:,} files, {result['bytes'] / MIB:,.0f} MiB, {result['cpus']} CPUs, "
        f"Python {result['python']}, warm page cache, best of {args.repeat}\n"
    )
    print("| what | seconds | MiB/s | vs sha256sum |")
    print("|---|---:|---:|---:|")
    for r in result["rows"]:
        print(f"| {r['what']} | {r['seconds']} | {r['mb_per_s']} | {r['vs_sha256sum']:.0%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
