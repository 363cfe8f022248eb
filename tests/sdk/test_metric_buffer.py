"""MetricBuffer on its own, with a fake sink: batching by size, by time, on flush; errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from mled.entities import Series
from mled.errors import InvalidKey, InvalidMetricValue
from mled.sdk import buffer as buffer_module
from mled.sdk.buffer import MetricBuffer


class FakeSink:
    """Records every batch; can be told to fail the next writes."""

    def __init__(self) -> None:
        self.batches: list[dict[str, Series]] = []
        self.failures = 0
        self.written = threading.Event()
        self.threads: set[str] = set()

    def __call__(self, batch: dict[str, Series]) -> None:
        self.threads.add(threading.current_thread().name)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store unreachable")
        self.batches.append({k: (list(s[0]), list(s[1]), list(s[2])) for k, s in batch.items()})
        self.written.set()

    def points(self, key: str) -> list[tuple[int, float]]:
        return [
            (step, value)
            for batch in self.batches
            if key in batch
            for step, value in zip(batch[key][0], batch[key][2], strict=True)
        ]


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def buffer(sink: FakeSink) -> Iterator[MetricBuffer]:
    buf = MetricBuffer(sink, max_points=1_000, interval=3600)
    yield buf
    buf.close()


def test_nothing_is_written_before_a_trigger(buffer: MetricBuffer, sink: FakeSink) -> None:
    buffer.add({"loss": 0.5}, step=0)
    assert sink.batches == []
    assert buffer.pending == 1


def test_flush_writes_everything_as_one_batch(buffer: MetricBuffer, sink: FakeSink) -> None:
    buffer.add({"loss": 0.5, "acc": 0.1}, step=0, timestamp=10.0)
    buffer.add({"loss": 0.4}, step=1, timestamp=11.0)
    buffer.flush()
    assert sink.batches == [
        {"loss": ([0, 1], [10.0, 11.0], [0.5, 0.4]), "acc": ([0], [10.0], [0.1])}
    ]
    assert buffer.pending == 0
    buffer.flush()  # nothing pending: no empty batch
    assert len(sink.batches) == 1


def test_a_full_buffer_writes_by_size(sink: FakeSink) -> None:
    buf = MetricBuffer(sink, max_points=100, interval=3600)
    for step in range(250):
        buf.add({"a": 1.0, "b": 2.0}, step=step)  # two points per call
    assert [sum(len(s[0]) for s in b.values()) for b in sink.batches] == [100, 100, 100, 100, 100]
    assert buf.pending == 0
    buf.close()
    assert len(sink.batches) == 5


def test_an_idle_buffer_is_written_by_the_background_thread(sink: FakeSink) -> None:
    buf = MetricBuffer(sink, max_points=1_000_000, interval=0.2)
    try:
        buf.add({"loss": 0.5}, step=0)
        assert sink.written.wait(5), "the timer never flushed"
        assert sink.points("loss") == [(0, 0.5)]
        assert sink.threads == {"mled-flush"}
        assert buf.pending == 0
    finally:
        buf.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def time(self) -> float:
        return self.now


def test_a_busy_buffer_is_written_by_time_on_add(
    sink: FakeSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(buffer_module, "time", clock)
    buf = MetricBuffer(sink, max_points=1_000_000, interval=600)
    try:
        buf.add({"loss": 0.5}, step=0)
        clock.now += 599
        buf.add({"loss": 0.4}, step=1)
        assert sink.batches == []
        clock.now += 1
        buf.add({"loss": 0.3}, step=2)
        assert sink.points("loss") == [(0, 0.5), (1, 0.4), (2, 0.3)]
        assert sink.threads == {"MainThread"}
        assert sink.batches[0]["loss"][1] == [1_000.0, 1_599.0, 1_600.0]
    finally:
        buf.close()


def test_explicit_timestamps_do_not_decide_when_to_write(
    sink: FakeSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buffer_module, "time", FakeClock())
    buf = MetricBuffer(sink, max_points=1_000_000, interval=600)
    try:
        buf.add({"loss": 0.5}, step=0, timestamp=9e9)  # far future: still not due
        assert sink.batches == []
    finally:
        buf.close()


def test_close_flushes_and_stops_the_timer(sink: FakeSink) -> None:
    buf = MetricBuffer(sink, max_points=1_000, interval=0.1)
    buf.add({"loss": 0.5}, step=0)
    buf.close()
    assert sink.points("loss") == [(0, 0.5)]
    assert buf._thread is not None
    buf._thread.join(2)
    assert not buf._thread.is_alive()


def test_auto_steps_continue_per_key_across_flushes(buffer: MetricBuffer, sink: FakeSink) -> None:
    buffer.add({"loss": 1.0})
    buffer.add({"loss": 2.0, "acc": 0.1})
    buffer.flush()
    buffer.add({"loss": 3.0, "acc": 0.2})
    buffer.add({"lr": 0.01}, step=7)
    buffer.add({"lr": 0.02})
    buffer.flush()
    assert sink.points("loss") == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert sink.points("acc") == [(0, 0.1), (1, 0.2)]
    assert sink.points("lr") == [(7, 0.01), (8, 0.02)]


def test_values_are_converted_to_float(buffer: MetricBuffer, sink: FakeSink) -> None:
    metrics = {"a": 1, "b": np.float32(0.5), "c": np.int64(3), "d": True}
    buffer.add(metrics, step=np.int64(2))  # type: ignore[arg-type]
    buffer.flush()
    batch = sink.batches[0]
    assert {k: s[2] for k, s in batch.items()} == {"a": [1.0], "b": [0.5], "c": [3.0], "d": [1.0]}
    assert all(type(s[2][0]) is float and type(s[0][0]) is int for s in batch.values())


@pytest.mark.parametrize("bad", ["abc", None, object(), b"1"])
def test_a_non_numeric_value_refuses_the_whole_call(
    buffer: MetricBuffer, sink: FakeSink, bad: object
) -> None:
    with pytest.raises(InvalidMetricValue, match="'loss'"):
        buffer.add({"acc": 0.9, "loss": bad}, step=0)
    assert buffer.pending == 0
    buffer.add({"other": 1.0}, step=0)
    buffer.flush()
    assert sink.batches == [{"other": ([0], [sink.batches[0]["other"][1][0]], [1.0])}]


@pytest.mark.parametrize("key", ["", "k" * 251, "bad!"])
def test_an_invalid_key_refuses_the_whole_call(
    buffer: MetricBuffer, sink: FakeSink, key: str
) -> None:
    with pytest.raises(InvalidKey):
        buffer.add({"acc": 0.9, key: 1.0}, step=0)
    buffer.flush()
    assert sink.batches == []


@pytest.mark.parametrize("step", [1.5, "3", True])
def test_a_non_integral_step_is_refused(buffer: MetricBuffer, step: object) -> None:
    with pytest.raises(InvalidMetricValue, match="steps are integers"):
        buffer.add({"loss": 0.5}, step=step)  # type: ignore[arg-type]
    assert buffer.pending == 0


def test_a_failed_write_keeps_the_points_for_the_next_flush(
    buffer: MetricBuffer, sink: FakeSink
) -> None:
    buffer.add({"loss": 0.5}, step=0)
    sink.failures = 1
    with pytest.raises(ConnectionError):
        buffer.flush()
    assert buffer.pending == 1
    buffer.add({"loss": 0.4}, step=1)
    buffer.flush()
    assert sink.points("loss") == [(0, 0.5), (1, 0.4)]


def test_a_background_failure_is_raised_on_the_next_call(sink: FakeSink) -> None:
    buf = MetricBuffer(sink, max_points=1_000_000, interval=0.2)
    sink.failures = 1
    buf.add({"loss": 0.5}, step=0)
    deadline = time.time() + 5
    while buf._error is None and time.time() < deadline:
        time.sleep(0.01)
    with pytest.raises(ConnectionError, match="unreachable"):
        buf.add({"loss": 0.4}, step=1)
    buf.close()  # the error was reported once; the points were kept and now written
    assert sink.points("loss") == [(0, 0.5)]


def test_concurrent_adds_lose_no_point(sink: FakeSink) -> None:
    buf = MetricBuffer(sink, max_points=500, interval=0.05)
    start = threading.Barrier(4)

    def work(key: str) -> None:
        start.wait()
        for step in range(2_000):
            buf.add({key: float(step)}, step=step)

    threads = [threading.Thread(target=work, args=(f"k{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    buf.close()
    for i in range(4):
        assert sink.points(f"k{i}") == [(s, float(s)) for s in range(2_000)]
