"""``LiveExperiment``: the handle of a running experiment returned by ``start_experiment``."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from mled.artifacts.sdk import ExperimentAssets
from mled.entities import Experiment
from mled.errors import ExperimentNotActive
from mled.sdk.backend import Backend
from mled.sdk.buffer import MetricBuffer

MAX_ERROR_TEXT = 8_000


class Terminated(SystemExit):
    """Raised in the main thread when the process receives SIGTERM (status ``killed``)."""

    def __init__(self) -> None:
        super().__init__(143)


def error_summary(exc: BaseException) -> str:
    """The last frames and message of a traceback, short enough to store."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-5))
    return text[-MAX_ERROR_TEXT:]


def status_for(exc: BaseException | None) -> str:
    """The terminal status an escaping exception means."""
    if exc is None:
        return "finished"
    if isinstance(exc, KeyboardInterrupt | Terminated):
        return "killed"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return "finished"
    return "failed"


class LiveExperiment(ExperimentAssets):
    """A running experiment. Use as a context manager so the status is always set.

    Example:
        >>> exp = mled.start_experiment(project="vision", params={"lr": 0.1})  # doctest: +SKIP
        >>> with exp:  # doctest: +SKIP
        ...     exp.log_metrics({"loss": 0.3}, step=1)
    """

    def __init__(
        self,
        backend: Backend,
        info: Experiment,
        *,
        flush_points: int,
        flush_interval: float,
        on_end: Callable[[LiveExperiment], None] | None = None,
    ) -> None:
        self._backend = backend
        self._info = info
        self.id: str = info.id
        self.project: str = info.project
        self.name: str = info.name
        self._buffer = MetricBuffer(
            self._write_batch, max_points=flush_points, interval=flush_interval
        )
        self._ended = False
        self._on_end = on_end

    def _write_batch(self, batch: Mapping[str, Any]) -> None:
        self._backend.log_metric_batch(self.id, batch)

    def __repr__(self) -> str:
        return f"LiveExperiment(id={self.id!r}, project={self.project!r}, name={self.name!r})"

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def ended(self) -> bool:
        return self._ended

    # --- logging ----------------------------------------------------------------------------

    def log_param(self, key: str, value: Any) -> None:
        """Log one param; params are immutable (a different value raises ParamConflict)."""
        self._backend.log_params(self.id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self._backend.log_params(self.id, params)

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: float | None = None
    ) -> None:
        """Buffer one metric value; ``step=None`` uses the key's next step (0 for a new key)."""
        self._require_running()
        self._buffer.add({key: value}, step, timestamp)

    def log_metrics(
        self,
        metrics: Mapping[str, float],
        step: int | None = None,
        timestamp: float | None = None,
    ) -> None:
        """Buffer several metric values at one step (no step: final/evaluation values)."""
        self._require_running()
        self._buffer.add(metrics, step, timestamp)

    def _require_running(self) -> None:
        # Points buffered after the end would never be written: refuse them now, loudly.
        if self._ended:
            raise ExperimentNotActive(
                f"experiment {self.id} has ended; only running experiments accept new metrics"
            )

    def set_tag(self, key: str, value: Any) -> None:
        self._backend.set_tags(self.id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._backend.set_tags(self.id, tags)

    def delete_tag(self, key: str) -> None:
        self._backend.delete_tag(self.id, key)

    def record_seeds(self, seeds: dict[str, Any]) -> None:
        """Store what ``seed_everything`` seeded on this experiment."""
        self._backend.set_seeds(self.id, seeds)

    def flush(self) -> None:
        """Write buffered metric points; returns when they are durable."""
        self._buffer.flush()

    # --- reading ----------------------------------------------------------------------------

    def refresh(self) -> Experiment:
        """The stored state of this experiment (flushes first so metrics are current)."""
        self.flush()
        self._info = self._backend.get_experiment(self.id)
        return self._info

    # --- ending -----------------------------------------------------------------------------

    def end(self, status: str = "finished", *, error: str | None = None) -> None:
        """Flush and mark the experiment ended; safe to call more than once."""
        if self._ended:
            return
        try:
            self._buffer.close()
        finally:
            self._backend.end_experiment(self.id, status, error=error)
            self._ended = True
            if self._on_end is not None:
                self._on_end(self)

    def __enter__(self) -> LiveExperiment:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status = status_for(exc)
        self.end(status, error=None if status == "finished" or exc is None else error_summary(exc))
