"""Child processes for the crash, signal, exit and concurrency tests of the SDK.

Each child is a small script written to the test's tmp_path and run with the same interpreter
(the project's virtualenv), talking to the test's store through ``mled.Client``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mled.sdk.client import Client
from mled.settings import Settings

CHILD_SCRIPT = '''
import os
import sys
import time
from pathlib import Path

from mled.sdk.client import Client
from mled.settings import Settings

mode, uri, home = sys.argv[1], sys.argv[2], Path(sys.argv[3])


def client(**options):
    return Client(
        settings=Settings(
            home=home,
            tracking_uri=uri,
            username="alice",
            capture_git=False,
            capture_command=False,
            capture_environment=False,
            capture_packages=False,
            **options,
        )
    )


def log_forever(exp, step):
    """Keep logging (never flushed) until the parent kills this process."""
    while True:
        exp.log_metric("loss", float(step), step=step)
        step += 1
        if step % 500 == 0:
            time.sleep(0.001)


if mode == "crash":  # SIGKILL after an acknowledged flush
    exp = client(flush_points=10**9, flush_interval=3600, handle_signals=False).start_experiment(
        "durability", "crash", capture=False
    )
    for step in range(50_000):
        exp.log_metric("loss", float(step), step=step)
        if step % 10_000 == 9_999:
            exp.flush()
    print(exp.id, "flushed", flush=True)
    log_forever(exp, 50_000)

elif mode == "sigterm":  # SIGTERM inside a with block
    c = client(flush_points=10**9, flush_interval=3600, handle_signals=True)
    with c.start_experiment("durability", "sigterm", capture=False) as exp:
        for step in range(1_000):
            exp.log_metric("loss", float(step), step=step)
        exp.flush()
        print(exp.id, "flushed", flush=True)
        log_forever(exp, 1_000)

elif mode in ("exit-clean", "exit-error"):  # no with block: the exit hook ends it
    exp = client(flush_points=10**9, flush_interval=3600, handle_signals=False).start_experiment(
        "durability", mode, capture=False
    )
    for step in range(10):
        exp.log_metric("loss", float(step), step=step)
    print(exp.id, "started", flush=True)
    if mode == "exit-error":
        raise RuntimeError("boom in the child")

elif mode == "worker":  # one of several concurrent writers
    go = Path(sys.argv[4])
    c = client(flush_points=300, flush_interval=3600, handle_signals=False)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.002)
    with c.start_experiment("concurrency", f"worker-{os.getpid()}", capture=False) as exp:
        for step in range(2_000):
            exp.log_metrics({f"k{k}": step + k / 10 for k in range(10)}, step=step)
            if step % 100 == 99:  # per 100 steps: 3 batches by flush_points, 1 by flush()
                exp.flush()
    print(exp.id, flush=True)

elif mode == "create":  # one log_experiment call after another until killed
    c = client(handle_signals=False)
    i = 0
    while True:
        exp = c.log_experiment("durability", f"run-{i}", params={"i": i}, metrics={"m": i / 2})
        print(exp.id, flush=True)  # acknowledged: the call returned
        i += 1

else:
    raise SystemExit(f"unknown mode {mode}")
'''

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture
def sqlite_client(tmp_path: Path, sqlite_uri: str) -> Iterator[Client]:
    """A client on SQLite only, for input checks that fail before anything is stored."""
    c = Client(
        settings=Settings(
            home=tmp_path / "home",
            tracking_uri=sqlite_uri,
            username="alice",
            flush_interval=60.0,
            handle_signals=False,
        )
    )
    yield c
    c.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start the child script in a mode; every child still running at teardown is killed."""
    script = tmp_path / "mled_child.py"
    script.write_text(CHILD_SCRIPT)
    started: list[subprocess.Popen[str]] = []

    def start(mode: str, uri: str, *extra: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, str(script), mode, uri, str(tmp_path / "home"), *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
