"""Metric chunk codec: packed little-endian arrays and their digest.

The fast paths (one point, one joined buffer to hash, and the summaries and batches of
:mod:`mled.service.metric_batches`) are compared with frozen copies of the code they replaced:
stored chunks are verified against their digests, so not one byte may change.
"""

from __future__ import annotations

import hashlib
import math
import struct
import sys
from array import array
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mled.errors import InvalidInput, InvalidMetricValue
from mled.service import metric_batches
from mled.service.metric_batches import _encode, _summarize, encode_batch
from mled.store.sql.codec import (
    EncodedChunk,
    _new_chunk,
    chunk_digest,
    decode_chunk,
    encode_chunk,
)
from mled.store.sql.metrics import SummaryRow
from old_validation import old_validate_key

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_points = st.lists(
    st.tuples(_INT64, st.floats(width=64), st.floats(width=64)), min_size=1, max_size=200
)


def _bits(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


@settings(max_examples=50, deadline=None)
@given(_points)
def test_chunk_round_trip_is_exact(points: list[tuple[int, float, float]]) -> None:
    steps = [p[0] for p in points]
    stamps = [p[1] for p in points]
    values = [p[2] for p in points]
    chunk = encode_chunk(steps, stamps, values)
    s, t, v = decode_chunk(chunk.steps, chunk.timestamps, chunk.values)
    assert s.tolist() == steps
    # Bit-for-bit, so NaN, infinities and -0.0 survive exactly.
    assert _bits(t.tolist()) == _bits(stamps)
    assert _bits(v.tolist()) == _bits(values)
    assert chunk.count == len(points)
    assert (chunk.first_step, chunk.last_step) == (min(steps), max(steps))
    assert chunk.digest == chunk_digest(chunk.steps, chunk.timestamps, chunk.values)


def test_stored_format_is_little_endian_int64_and_float64() -> None:
    chunk = encode_chunk([1, -2], [10.0, 11.0], [0.5, math.nan])
    assert chunk.steps == struct.pack("<2q", 1, -2)
    assert chunk.timestamps == struct.pack("<2d", 10.0, 11.0)
    assert chunk.values[:8] == struct.pack("<d", 0.5)
    assert math.isnan(struct.unpack("<d", chunk.values[8:])[0])


def test_digest_is_sha256_over_length_prefixed_arrays() -> None:
    chunk = encode_chunk([0], [1.0], [2.0])
    h = hashlib.sha256()
    for part in (chunk.steps, chunk.timestamps, chunk.values):
        h.update(len(part).to_bytes(8, "little") + part)
    assert chunk.digest == h.hexdigest()


@settings(max_examples=50, deadline=None)
@given(_points, st.data())
def test_changing_any_byte_changes_the_digest(
    points: list[tuple[int, float, float]], data: st.DataObject
) -> None:
    chunk = encode_chunk([p[0] for p in points], [p[1] for p in points], [p[2] for p in points])
    parts = [bytearray(chunk.steps), bytearray(chunk.timestamps), bytearray(chunk.values)]
    which = data.draw(st.integers(0, 2))
    index = data.draw(st.integers(0, len(parts[which]) - 1))
    parts[which][index] ^= data.draw(st.integers(1, 255))
    assert chunk_digest(*map(bytes, parts)) != chunk.digest


def test_moving_bytes_between_arrays_changes_the_digest() -> None:
    """Length prefixes keep (steps+x, values) distinct from (steps, x+values)."""
    a = chunk_digest(b"\x01" * 16, b"", b"\x02" * 8)
    b = chunk_digest(b"\x01" * 8, b"\x01" * 8, b"\x02" * 8)
    assert a != b


@pytest.mark.parametrize(
    ("steps", "values", "error"),
    [([2**63], [1.0], OverflowError), ([0], ["x"], TypeError), (["0"], [1.0], TypeError)],
)
def test_unpackable_points_raise(steps: list[object], values: list[object], error: type) -> None:
    with pytest.raises(error):
        encode_chunk(steps, [0.0] * len(steps), values)  # type: ignore[arg-type]


# --- the implementations before the fast paths, frozen ---------------------------------------

OLD_SWAP = sys.byteorder != "little"


def old_pack(arr: array) -> bytes:  # type: ignore[type-arg]
    if OLD_SWAP:
        arr.byteswap()
    return arr.tobytes()


def old_chunk_digest(steps: bytes, timestamps: bytes, values: bytes) -> str:
    h = hashlib.sha256()
    for part in (steps, timestamps, values):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def old_encode_chunk(steps: list[int], timestamps: list[float], values: list[float]) -> Any:
    s = old_pack(array("q", steps))
    t = old_pack(array("d", timestamps))
    v = old_pack(array("d", values))
    return EncodedChunk(s, t, v, old_chunk_digest(s, t, v), len(steps), min(steps), max(steps))


def old_encode(key: str, series: Any) -> Any:
    steps, timestamps, values = series
    if not (len(steps) == len(timestamps) == len(values)):
        raise InvalidInput(
            f"metric {key!r}: steps, timestamps and values have different lengths "
            f"({len(steps)}, {len(timestamps)}, {len(values)})"
        )
    try:
        return old_encode_chunk(list(steps), list(timestamps), list(values))
    except (TypeError, OverflowError) as err:
        raise InvalidMetricValue(
            f"metric {key!r} has a value, step or timestamp that is not a number: {err}"
        ) from err


def old_summarize(row: SummaryRow, series: Any) -> None:
    steps, timestamps, values = series
    finite = [v for v in values if not math.isnan(v)]
    if finite:
        lo, hi = min(finite), max(finite)
        row.min = lo if row.min is None else min(row.min, lo)
        row.max = hi if row.max is None else max(row.max, hi)
    top = max(steps)
    idx = len(steps) - 1
    if steps[idx] != top:
        idx = max(range(len(steps)), key=lambda i: (steps[i], timestamps[i]))
    if row.count == 0 or (steps[idx], timestamps[idx]) >= (row.last_step, row.last_timestamp):
        v = values[idx]
        row.last = None if math.isnan(v) else v
        row.last_step, row.last_timestamp = int(steps[idx]), float(timestamps[idx])
    row.count += len(steps)


def old_encode_batch(batch: Mapping[str, Any], limit: int = 5_000_000) -> dict[str, Any]:
    chunks = {
        old_validate_key(k, "metric"): old_encode(k, s) for k, s in batch.items() if len(s[0])
    }
    total = sum(c.count for c in chunks.values())
    if total > limit:
        raise InvalidInput(
            f"a batch holds {total} points; the limit is {limit}",
            hint="Flush more often (smaller batches).",
        )
    return chunks


# --- comparing ---------------------------------------------------------------------------------


def exact(value: Any) -> Any:
    """A value compared exactly: type and repr (0.0 == -0.0, 1 == True, NaN != NaN)."""
    if isinstance(value, EncodedChunk):
        return ("chunk", *(exact(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, SummaryRow):
        return ("row", *(exact(getattr(value, f.name)) for f in fields(value)))
    if isinstance(value, dict):
        return [(exact(k), exact(v)) for k, v in value.items()]  # in order
    return type(value), repr(value)


def outcome(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        result = fn(*args)
    except Exception as err:
        cause = err.__cause__
        return "raised", type(err), str(err), type(cause), str(cause)
    return "returned", exact(result)


def assert_same(old: Callable[..., Any], new: Callable[..., Any], *args: Any) -> None:
    assert outcome(new, *args) == outcome(old, *args)


NAN_PAYLOAD = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0]
NEGATIVE_NAN = struct.unpack("<d", b"\x00\x00\x00\x00\x00\x00\xf8\xff")[0]
SIGNALLING_NAN = struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf0\x7f")[0]
special_floats = st.sampled_from(
    [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, NAN_PAYLOAD, NEGATIVE_NAN, SIGNALLING_NAN]
)
any_floats = st.floats(width=64) | special_floats
steps_ = _INT64 | st.sampled_from([0, 1, 2**53 + 1, -(2**63), 2**63 - 1, True])
odd = st.sampled_from(
    [
        2**63,
        -(2**63) - 1,
        10**400,
        1.5,
        "1",
        None,
        b"x",
        np.int64(3),
        np.float64(2.5),
        np.float32(math.nan),
        np.bool_(True),
        object(),
    ]
)


@st.composite
def histories(draw: st.DrawFn, odd_values: bool = False) -> tuple[list[Any], ...]:
    size = draw(st.sampled_from([0, 1, 1, 1, 2, 3, 50]))
    step = steps_ | odd if odd_values else steps_
    number = any_floats | st.integers(-(2**60), 2**60) | (odd if odd_values else any_floats)
    return (
        draw(st.lists(step, min_size=size, max_size=size)),
        draw(st.lists(number, min_size=size, max_size=size)),
        draw(st.lists(number, min_size=size, max_size=size)),
    )


# --- encode_chunk and chunk_digest -------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(histories(odd_values=True), st.sampled_from([list, tuple]))
@example(([7], [1.0], [NAN_PAYLOAD]), list)
@example(([7], [NEGATIVE_NAN], [SIGNALLING_NAN]), list)
@example(([2**63 - 1], [-0.0], [math.inf]), list)
@example(([-(2**63)], [5e-324], [-math.inf]), tuple)
@example(([2**63], [1.0], [1.0]), list)  # OverflowError, from array
@example(([1.0], [1.0], [1.0]), list)  # TypeError, from array
@example(([1], ["x"], [1.0]), list)
@example(([1], [1.0], [10**400]), list)
@example(([True], [1], [np.float32(0.5)]), list)
def test_encode_chunk_is_unchanged(history: tuple[list[Any], ...], kind: type) -> None:
    args = tuple(kind(part) for part in history)
    assert_same(old_encode_chunk, encode_chunk, *args)


@pytest.mark.parametrize(
    "args",
    [
        ([1], [1.0, 2.0], [0.5]),  # lengths that differ: packed as given, as before
        ([1, 2], [1.0], [0.5, 0.25, 0.125]),
        ([], [], []),  # min() of nothing raises
        (array("q", [5]), array("d", [1.0]), array("d", [2.0])),
        (range(3), [1.0] * 3, [0.5] * 3),
        (np.array([3]), np.array([1.0]), np.array([0.5])),
    ],
)
def test_encode_chunk_of_other_arguments_is_unchanged(args: tuple[Any, ...]) -> None:
    assert_same(old_encode_chunk, encode_chunk, *args)


def test_encode_chunk_of_a_generator_is_unchanged() -> None:
    old = old_encode_chunk([4], (x for x in [1.0]), (x for x in [0.5]))  # type: ignore[arg-type]
    new = encode_chunk([4], (x for x in [1.0]), (x for x in [0.5]))  # type: ignore[arg-type]
    assert exact(new) == exact(old)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.binary(max_size=300), st.binary(max_size=300))
def test_chunk_digest_is_unchanged(steps: bytes, timestamps: bytes, values: bytes) -> None:
    assert chunk_digest(steps, timestamps, values) == old_chunk_digest(steps, timestamps, values)


@pytest.mark.parametrize(
    "args",
    [
        (b"s" * 40_000, b"t" * 40_000, b"v"),  # above the size hashed as one buffer
        (b"", b"", b""),
        (bytearray(b"12345678"), memoryview(b"abcdefgh"), b"z" * 8),
        (array("d", [1.0, 2.0]), array("q", [3]), b""),  # len() counts items, as before
        (memoryview(array("d", [1.0, 2.0])), b"", b""),
        (memoryview(b"abcdef")[::2], b"", b""),  # not contiguous
        ("text", b"", b""),
        (b"", None, b""),
        (b"", b"", 3),
    ],
)
def test_chunk_digest_of_other_arguments_is_unchanged(args: tuple[Any, ...]) -> None:
    assert_same(old_chunk_digest, chunk_digest, *args)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=16), st.text(max_size=8), st.integers(), st.integers(), st.integers())
def test_new_chunk_is_an_ordinary_encoded_chunk(
    data: bytes, digest: str, count: int, first: int, last: int
) -> None:
    made = _new_chunk(data, data[1:], data[2:], digest, count, first, last)
    built = EncodedChunk(data, data[1:], data[2:], digest, count, first, last)
    assert type(made) is EncodedChunk
    assert made == built
    assert repr(made) == repr(built)
    assert hash(made) == hash(built)
    with pytest.raises(AttributeError):
        made.count = 0  # type: ignore[misc]


# --- metric batches: _encode, _summarize, encode_batch -----------------------------------------

metric_keys = st.sampled_from(["loss", "train/acc", "val:x", "a b", "", " pad", "a/../b", "é", "x"])


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(metric_keys, histories(odd_values=True), max_size=4),
    st.sampled_from([list, tuple, np.array]),
)
@example({"loss": ([1], [2.0], [0.5])}, list)
@example({"loss": ([1, 2], [2.0], [0.5])}, list)  # lengths differ
@example({"loss": ([1], [2.0], ["0.5"])}, list)
@example({"é": ([1], [2.0], [0.5]), "loss": ([1], [2.0], ["x"])}, list)  # key first
@example({"loss": ([1], [2.0], ["x"]), "é": ([1], [2.0], [0.5])}, list)
@example({"": ([], [], [])}, list)  # empty series are dropped before the key is checked
def test_encode_batch_is_unchanged(batch: dict[str, Any], kind: Callable[..., Any]) -> None:
    def convert(part: list[Any]) -> Any:
        try:
            return kind(part)
        except (TypeError, ValueError, OverflowError):
            return list(part)

    series = {k: tuple(convert(p) for p in h) for k, h in batch.items()}
    assert_same(old_encode_batch, encode_batch, series)
    for key, one in series.items():
        assert_same(old_encode, _encode, key, one)


def test_encode_batch_point_limit_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metric_batches, "MAX_BATCH_POINTS", 3)
    batch = {"a": ([1, 2], [0.0, 0.0], [1.0, 2.0]), "b": ([1, 2], [0.0, 0.0], [1.0, 2.0])}
    assert outcome(encode_batch, batch) == outcome(old_encode_batch, batch, 3)
    assert outcome(encode_batch, {"a": batch["a"]}) == outcome(
        old_encode_batch, {"a": batch["a"]}, 3
    )


summary_values = (
    st.floats(width=64)
    | special_floats
    | st.integers(-(2**60), 2**60)
    | st.sampled_from([np.float64(1.5), np.float32(math.nan), 10**400])
)
summary_steps = st.integers(-5, 5) | st.sampled_from([True, np.int64(2), 2**63 - 1])
summary_stamps = st.floats(width=64) | st.integers(-5, 5) | st.sampled_from([np.float64(0.5)])


@st.composite
def summary_series(draw: st.DrawFn) -> tuple[Any, ...]:
    size = draw(st.sampled_from([1, 1, 1, 2, 3, 10]))
    kind = draw(st.sampled_from([list, tuple, np.array]))
    parts = (
        draw(st.lists(summary_steps, min_size=size, max_size=size)),
        draw(st.lists(summary_stamps, min_size=size, max_size=size)),
        draw(st.lists(summary_values, min_size=size, max_size=size)),
    )
    if kind is np.array:
        try:
            return tuple(np.array(p) for p in parts)
        except (TypeError, ValueError, OverflowError):
            return parts
    return tuple(kind(p) for p in parts)


@settings(max_examples=250, deadline=None)
@given(
    st.lists(summary_series(), min_size=1, max_size=5),
    st.sampled_from(
        [
            (None, None, None, 0, 0, 0.0),
            (0.5, -1.0, 2.0, 3, 2, 1.5),
            (None, 0.0, 0.0, 1, 5, math.nan),
            (math.inf, -0.0, 0.0, 7, -3, -math.inf),
        ]
    ),
)
@example([([3], [1.0], [math.nan])], (None, None, None, 0, 0, 0.0))
@example([([3], [1.0], [-0.0])], (None, 0.0, 0.0, 1, 3, 1.0))
@example([([3], [1.0], [0.0])], (None, -0.0, -0.0, 1, 3, 1.0))
@example([([3], [1.0], [5])], (None, 5.0, 5.0, 1, 3, 1.0))  # ties keep the older object
@example([([3], [math.nan], [1.0])], (None, None, None, 2, 3, 1.0))
@example([([2], [1.0], [1.0])], (None, None, None, 2, 3, 1.0))  # an older step
@example([([3], [1.0], [1.0, 2.0])], (None, None, None, 0, 0, 0.0))  # lengths differ
@example([([3], [], [1.0])], (None, None, None, 0, 0, 0.0))
@example([([3], [1.0], ["x"])], (None, None, None, 0, 0, 0.0))
def test_summarize_is_unchanged(series: list[tuple[Any, ...]], start: tuple[Any, ...]) -> None:
    old_row = SummaryRow(1, "k", *start)
    new_row = SummaryRow(1, "k", *start)
    for one in series:
        old_result = outcome(old_summarize, old_row, one)
        assert outcome(_summarize, new_row, one) == old_result
        assert exact(new_row) == exact(old_row)
        if old_result[0] == "raised":
            break
