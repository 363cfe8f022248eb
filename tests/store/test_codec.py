"""Metric chunk codec: packed little-endian arrays and their digest."""

from __future__ import annotations

import hashlib
import math
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mled.store.sql.codec import chunk_digest, decode_chunk, encode_chunk

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
