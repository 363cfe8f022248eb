"""One training process of the crash test: logs metrics for a while, then ends and reports.

Usage: python crash_worker.py URL TOKEN HOME INDEX SECONDS RETRIES OUT_JSON

Values are whole numbers, so the sums the test compares are exact.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from mled.sdk.client import Client
from mled.settings import Settings


def main() -> None:
    url, token, home, index, seconds, retries, out = sys.argv[1:8]
    worker = int(index)
    settings = Settings(
        home=Path(home),
        tracking_uri=url,
        username="alice",
        token=token,
        flush_interval=0.2,
        flush_points=4_000,
        handle_signals=False,
        http_retries=int(retries),
    )
    client = Client(settings=settings)
    exp = client.start_experiment(
        project="crash", name=f"worker-{worker}", params={"worker": worker}, capture=False
    )
    sum_a = sum_b = 0.0
    step = 0
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        a, b = float(step), float(worker * 1_000_000 + step)
        exp.log_metrics({"a": a, "b": b}, step=step)
        sum_a += a
        sum_b += b
        step += 1
        if step % 20 == 0:
            time.sleep(0.001)
    exp.flush()
    exp.end()
    client.close()
    report = {"id": exp.id, "steps": step, "sum_a": sum_a, "sum_b": sum_b}
    Path(out).write_text(json.dumps(report))


if __name__ == "__main__":
    main()
