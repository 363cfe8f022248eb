"""Acceptance: the server is SIGKILLed and restarted while 4 processes log; nothing is lost.

Two workers retry through the outage (their batches are resent with the same idempotency
key), two give up at once and spool to disk (and replay when the server is back). Afterwards
every point is stored exactly once (count and sum per key) and the audit chain verifies.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mled_http_harness import ServerProcess

from mled.service import Services
from mled.store.sql.store import SqlStore

WORKERS = 4
SECONDS = 6.0
WORKER = Path(__file__).with_name("crash_worker.py")


@pytest.mark.slow
def test_killing_the_server_while_four_processes_log_loses_and_doubles_nothing(
    server: ServerProcess, token: str, tmp_path: Path
) -> None:
    procs = []
    for i in range(WORKERS):
        retries = 0 if i < 2 else 6
        cmd = [
            sys.executable,
            str(WORKER),
            server.url,
            token,
            str(tmp_path / f"home{i}"),
            str(i),
            str(SECONDS),
            str(retries),
            str(tmp_path / f"w{i}.json"),
        ]
        procs.append(subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True))
    time.sleep(2.0)
    server.kill()
    time.sleep(1.0)
    server.start()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * WORKERS, errors
    assert all("spooling to" in errors[i] for i in range(2)), errors
    assert all("replayed the spooled writes" in errors[i] for i in range(2)), errors

    store = SqlStore.open(server.store_uri)
    try:
        services = Services.for_user(store, "alice")
        for i in range(WORKERS):
            report = json.loads((tmp_path / f"w{i}.json").read_text())
            exp = services.experiments.get(report["id"])
            assert exp.status == "finished"
            assert exp.params == {"worker": i}
            for key in ("a", "b"):
                history = services.metrics.history(report["id"], key)
                assert len(history) == report["steps"], (i, key)
                assert sum(history.values) == report[f"sum_{key}"], (i, key)
            assert history.steps == list(range(report["steps"]))
            assert not list((tmp_path / f"home{i}").glob("spool/*.spool"))
        audit = services.audit.verify()
        assert audit.ok, audit.problems
    finally:
        store.close()
