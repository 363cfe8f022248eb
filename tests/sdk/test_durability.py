"""Nothing acknowledged is lost: SIGKILL after flush(), SIGTERM inside ``with``, process exit."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from mled.sdk.client import Client
from mled.settings import Settings

Spawn = Callable[..., subprocess.Popen[str]]  # the ``spawn`` fixture of tests/sdk/conftest.py
TIMEOUT = 120


@pytest.fixture
def reader(settings: Settings) -> Iterator[Client]:
    c = Client(settings=settings)
    yield c
    c.close()


def _first_line(proc: subprocess.Popen[str]) -> list[str]:
    assert proc.stdout is not None
    assert proc.stderr is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return line.split()


@pytest.mark.slow
def test_flushed_points_survive_sigkill(spawn: Spawn, store_uri: str, reader: Client) -> None:
    proc = spawn("crash", store_uri)
    exp_id, word = _first_line(proc)
    assert word == "flushed"
    time.sleep(0.1)  # let it log unflushed points for a moment
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL

    history = reader.get_metric_history(exp_id, "loss")
    assert len(history) == 50_000
    assert history.steps == list(range(50_000))
    assert history.values == [float(s) for s in range(50_000)]
    exp = reader.get_experiment(exp_id)
    assert exp.status == "running"  # nobody could end it
    assert exp.metric_summaries["loss"].count == 50_000
    report = reader.verify_audit()
    assert report.ok, report.problems
    assert report.chunks_checked == 5


@pytest.mark.slow
def test_experiments_created_before_sigkill_are_all_found(
    spawn: Spawn, store_uri: str, reader: Client
) -> None:
    """Creations are staged and written in batches (mled.service.staging): killed while
    creating, with some of its experiments written and some staged, the child loses none
    that a call had returned, and the audit chain verifies."""
    proc = spawn("create", store_uri)
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(400)]
    proc.send_signal(signal.SIGKILL)
    # The child goes on between the 400th line and the signal: what it printed meanwhile was
    # acknowledged too. Read it through proc.stdout itself, not communicate(): readline() may
    # already hold those lines in its buffer, and communicate() reads the pipe underneath it
    # when stderr is a pipe too (two acknowledged IDs were missed that way).
    rest = proc.stdout.read()
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL
    assert all(acknowledged), acknowledged[-1]
    acknowledged += rest.split()

    found = {e.id: e for e in reader.search("", project="durability", limit=10_000)}
    assert set(acknowledged) <= set(found)
    assert len(found) - len(acknowledged) <= 1  # one more may have committed, unprinted
    assert len(set(acknowledged)) == len(acknowledged)
    for i, exp_id in enumerate(acknowledged):
        assert (found[exp_id].params, found[exp_id].metrics) == ({"i": i}, {"m": i / 2})
    report = reader.verify_audit()
    assert report.ok, report.problems


@pytest.mark.slow
def test_sigterm_inside_with_ends_as_killed_keeping_every_point(
    spawn: Spawn, store_uri: str, reader: Client
) -> None:
    proc = spawn("sigterm", store_uri)
    exp_id, word = _first_line(proc)
    assert word == "flushed"
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 143, stderr

    exp = reader.get_experiment(exp_id)
    assert exp.status == "killed"
    assert exp.error is not None
    history = reader.get_metric_history(exp_id, "loss")
    assert len(history) > 1_000  # the flushed ones and those buffered when the signal came
    assert history.steps == list(range(len(history)))
    assert history.values == [float(s) for s in history.steps]
    assert reader.verify_audit().ok


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "status", "error"),
    [("exit-clean", "finished", None), ("exit-error", "failed", "boom in the child")],
)
def test_process_exit_ends_a_live_experiment(
    spawn: Spawn,
    store_uri: str,
    reader: Client,
    mode: str,
    status: str,
    error: str | None,
) -> None:
    proc = spawn(mode, store_uri)
    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == (0 if error is None else 1), stderr
    exp = reader.get_experiment(stdout.split()[0])
    assert exp.status == status
    assert exp.metric_summaries["loss"].count == 10  # buffered points flushed at exit
    if error is None:
        assert exp.error is None
    else:
        assert exp.error is not None
        assert error in exp.error
        assert error in stderr  # the traceback is still shown to the user
