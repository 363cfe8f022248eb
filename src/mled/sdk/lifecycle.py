"""Process hooks that give every live experiment a final status.

- at interpreter exit: flush, then ``finished`` (or ``failed`` after an uncaught exception);
- on SIGTERM (main thread, only when no other handler is installed): raise ``Terminated`` so
  ``with`` blocks end as ``killed`` and the points are flushed;
- ``KeyboardInterrupt`` escaping a ``with`` block ends as ``killed``.
"""

from __future__ import annotations

import atexit
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

from mled.sdk.live import Terminated, error_summary, status_for

if TYPE_CHECKING:
    from mled.sdk.live import LiveExperiment


class ProcessHooks:
    """Tracks the live experiments of this process and ends them when the process ends."""

    def __init__(self) -> None:
        self._live: list[LiveExperiment] = []
        self._lock = threading.Lock()
        self._installed = False
        self._uncaught: BaseException | None = None

    def track(self, exp: LiveExperiment, *, handle_signals: bool) -> None:
        with self._lock:
            self._live.append(exp)
            if not self._installed:
                self._install(handle_signals)
                self._installed = True

    def live(self) -> list[LiveExperiment]:
        with self._lock:
            return list(self._live)

    def untrack(self, exp: LiveExperiment) -> None:
        with self._lock:
            if exp in self._live:
                self._live.remove(exp)

    def _install(self, handle_signals: bool) -> None:
        atexit.register(self._at_exit)
        previous_hook = sys.excepthook

        def excepthook(
            tp: type[BaseException], value: BaseException, tb: TracebackType | None
        ) -> None:
            self._uncaught = value
            previous_hook(tp, value, tb)

        sys.excepthook = excepthook
        if handle_signals and threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _raise_terminated)

    def _at_exit(self) -> None:
        with self._lock:
            live = list(self._live)
        exc = self._uncaught
        status = status_for(exc)
        for exp in live:
            try:
                exp.end(status, error=None if exc is None else error_summary(exc))
            except Exception as err:  # never turn a clean exit into a traceback
                print(f"mled: could not end experiment {exp.id}: {err}", file=sys.stderr)


_shared: ProcessHooks | None = None
_shared_lock = threading.Lock()


def shared_hooks() -> ProcessHooks:
    """The process's one set of hooks, so that many clients install them only once."""
    global _shared  # one atexit handler and excepthook per process is the point
    with _shared_lock:
        if _shared is None:
            _shared = ProcessHooks()
        return _shared


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated()
