"""Packing of metric histories into chunks: little-endian int64 steps, float64 times/values.

Example:
    >>> chunk = encode_chunk([0, 1], [1.0, 2.0], [0.5, float("nan")])
    >>> decode_chunk(chunk.steps, chunk.timestamps, chunk.values)[0].tolist()
    [0, 1]
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from dataclasses import dataclass

_SWAP = sys.byteorder != "little"  # the stored format is little-endian on every machine


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    steps: bytes
    timestamps: bytes
    values: bytes
    digest: str
    count: int
    first_step: int
    last_step: int


def _pack(arr: array) -> bytes:
    if _SWAP:
        arr.byteswap()
    return arr.tobytes()


def chunk_digest(steps: bytes, timestamps: bytes, values: bytes) -> str:
    """SHA-256 over the three packed arrays, each prefixed by its length."""
    h = hashlib.sha256()
    for part in (steps, timestamps, values):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def encode_chunk(steps: list[int], timestamps: list[float], values: list[float]) -> EncodedChunk:
    """Pack one key's points of one flush. Raises TypeError/OverflowError on bad elements."""
    s = _pack(array("q", steps))
    t = _pack(array("d", timestamps))
    v = _pack(array("d", values))
    return EncodedChunk(s, t, v, chunk_digest(s, t, v), len(steps), min(steps), max(steps))


def _unpack(code: str, data: bytes) -> array:
    arr = array(code)
    arr.frombytes(data)
    if _SWAP:
        arr.byteswap()
    return arr


def decode_chunk(steps: bytes, timestamps: bytes, values: bytes) -> tuple[array, array, array]:
    """Unpack a chunk into three arrays (int64 steps, float64 timestamps, float64 values)."""
    return _unpack("q", steps), _unpack("d", timestamps), _unpack("d", values)
