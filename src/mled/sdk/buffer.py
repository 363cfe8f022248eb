"""``MetricBuffer``: metric points collected in memory and written in batches.

Logging must never slow training, so ``add`` only appends to per-key lists; a batch is written
(one backend call, one transaction) when ``max_points`` accumulate, when ``interval`` seconds
passed since the last write (checked on every ``add`` and by a background thread), and on
``flush()``. ``flush()`` returns only once the backend has made the points durable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from mled.entities import Series
from mled.validation import metric_step, metric_timestamp, metric_value, validate_key

Sink = Callable[[dict[str, Series]], Any]


class MetricBuffer:
    """Example:
    >>> written = []
    >>> buf = MetricBuffer(written.append, max_points=10, interval=60)
    >>> buf.add({"loss": 0.5, "acc": 0.8}, step=1)
    >>> buf.flush(); sorted(written[0])
    ['acc', 'loss']
    """

    def __init__(self, sink: Sink, *, max_points: int = 100_000, interval: float = 2.0) -> None:
        self._sink = sink
        self._max_points = max_points
        self._interval = interval
        self._lock = threading.RLock()
        self._series: dict[str, tuple[list[int], list[float], list[float]]] = {}
        self._next_step: dict[str, int] = {}
        self._pending = 0
        self._last_write = time.time()
        self._error: BaseException | None = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> int:
        """Points accepted but not yet written."""
        return self._pending

    def add(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: float | None = None
    ) -> None:
        """Buffer one value per key at ``step`` (None: the key's next step, starting at 0)."""
        now = time.time()
        ts = now if timestamp is None else metric_timestamp(timestamp)
        if step is not None and type(step) is not int:
            step = metric_step(next(iter(metrics), "?"), step)
        with self._lock:
            self._raise_background_error()
            series = self._series
            # Validate the whole call before buffering any of it: a refused call adds nothing.
            checked = [
                (
                    key if key in series else validate_key(key, "metric"),
                    value if type(value) is float else metric_value(key, value),
                )
                for key, value in metrics.items()
            ]
            for key, value in checked:
                s = series.get(key)
                if s is None:
                    s = series[key] = ([], [], [])
                if step is None:
                    st = s[0][-1] + 1 if s[0] else self._next_step.get(key, 0)
                else:
                    st = step
                s[0].append(st)
                s[1].append(ts)
                s[2].append(value)
            self._pending += len(metrics)
            if self._pending >= self._max_points or now - self._last_write >= self._interval:
                self._write_locked()
        if self._thread is None and self._interval > 0:
            self._start_timer()

    def flush(self) -> None:
        """Write everything buffered; returns when it is durable (raises if it failed)."""
        with self._lock:
            self._raise_background_error()
            self._write_locked()

    def close(self) -> None:
        """Flush and stop the background thread."""
        self._closed.set()
        self.flush()

    def _write_locked(self) -> None:
        self._last_write = time.time()
        if not self._pending:
            return
        batch: dict[str, Series] = {k: s for k, s in self._series.items() if s[0]}
        self._sink(batch)  # on failure the points stay buffered for the next attempt
        for key, (steps, _, _) in batch.items():
            self._next_step[key] = steps[-1] + 1
        self._series = {}
        self._pending = 0

    def _raise_background_error(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _start_timer(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._tick, name="mled-flush", daemon=True)
            self._thread.start()

    def _tick(self) -> None:
        while not self._closed.wait(self._interval / 2):
            with self._lock:
                if self._pending and time.time() - self._last_write >= self._interval:
                    try:
                        self._write_locked()
                    except Exception as err:  # surfaced on the next add()/flush()
                        self._error = err
