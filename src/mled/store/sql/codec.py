"""Packing of metric histories into chunks: little-endian int64 steps, float64 times/values.

Example:
    >>> chunk = encode_chunk([0, 1], [1.0, 2.0], [0.5, float("nan")])
    >>> decode_chunk(chunk.steps, chunk.timestamps, chunk.values)[0].tolist()
    [0, 1]
"""

from __future__ import annotations

import hashlib
import struct
import sys
from array import array
from dataclasses import dataclass, fields

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


# A frozen dataclass's __init__ sets each field through object.__setattr__, which costs about
# as much as packing and hashing a one-point chunk; bulk imports build one chunk per metric, so
# the fast paths below fill the slots directly. The unpacking fails at import if the fields
# change, and the setters follow the fields' order, which is also __init__'s argument order.
(
    _set_steps,
    _set_timestamps,
    _set_values,
    _set_digest,
    _set_count,
    _set_first_step,
    _set_last_step,
) = (getattr(EncodedChunk, f.name).__set__ for f in fields(EncodedChunk))
_new_object = object.__new__


def _new_chunk(
    steps: bytes,
    timestamps: bytes,
    values: bytes,
    digest: str,
    count: int,
    first_step: int,
    last_step: int,
) -> EncodedChunk:
    """``EncodedChunk(...)`` without the frozen dataclass's per-field ``object.__setattr__``."""
    chunk = _new_object(EncodedChunk)
    _set_steps(chunk, steps)
    _set_timestamps(chunk, timestamps)
    _set_values(chunk, values)
    _set_digest(chunk, digest)
    _set_count(chunk, count)
    _set_first_step(chunk, first_step)
    _set_last_step(chunk, last_step)
    return chunk


def _pack(arr: array) -> bytes:
    if _SWAP:
        arr.byteswap()
    return arr.tobytes()


# One point as hashed: each array's 8-byte length prefix (8, one element) followed by it. The
# '<' formats are little-endian and unaligned whatever the machine, like the stored format, and
# struct accepts exactly what array('q')/array('d') accept (__index__ / __float__ objects).
_ONE_POINT = struct.Struct("<QqQdQd")
_sha256 = hashlib.sha256
_SEQUENCES = (list, tuple)  # where element 0 is what array() reads first (any iterable works)

_JOIN_LIMIT = 1 << 16
"""Up to this many bytes, the three arrays are hashed as one joined buffer (one C call) rather
than by six ``update`` calls; larger chunks are not copied."""


def chunk_digest(steps: bytes, timestamps: bytes, values: bytes) -> str:
    """SHA-256 over the three packed arrays, each prefixed by its length."""
    try:
        ns, nt, nv = len(steps), len(timestamps), len(values)
        if ns + nt + nv <= _JOIN_LIMIT:
            # Hashing the concatenation is the same as hashing the parts in turn.
            return _sha256(
                b"".join(
                    (
                        ns.to_bytes(8, "little"),
                        steps,
                        nt.to_bytes(8, "little"),
                        timestamps,
                        nv.to_bytes(8, "little"),
                        values,
                    )
                )
            ).hexdigest()
    except (TypeError, ValueError, BufferError):
        pass  # not bytes-like: the loop below raises the error it always raised
    h = hashlib.sha256()
    for part in (steps, timestamps, values):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def encode_chunk(steps: list[int], timestamps: list[float], values: list[float]) -> EncodedChunk:
    """Pack one key's points of one flush. Raises TypeError/OverflowError on bad elements."""
    if (
        type(steps) in _SEQUENCES
        and type(timestamps) in _SEQUENCES
        and type(values) in _SEQUENCES
        and len(steps) == len(timestamps) == len(values) == 1
    ):
        # One point per key is what bulk imports of finished runs mostly carry: one struct call
        # packs the three arrays with their length prefixes, ready to hash in one go.
        step = steps[0]
        try:
            packed = _ONE_POINT.pack(8, step, 8, timestamps[0], 8, values[0])
        except Exception:
            pass  # not a number: the array path below raises its TypeError/OverflowError
        else:
            return _new_chunk(
                packed[8:16],
                packed[24:32],
                packed[40:48],
                _sha256(packed).hexdigest(),
                1,
                step,  # what min() and max() of one element return
                step,
            )
    s = _pack(array("q", steps))
    t = _pack(array("d", timestamps))
    v = _pack(array("d", values))
    return _new_chunk(s, t, v, chunk_digest(s, t, v), len(steps), min(steps), max(steps))


def _unpack(code: str, data: bytes) -> array:
    arr = array(code)
    arr.frombytes(data)
    if _SWAP:
        arr.byteswap()
    return arr


def decode_chunk(steps: bytes, timestamps: bytes, values: bytes) -> tuple[array, array, array]:
    """Unpack a chunk into three arrays (int64 steps, float64 timestamps, float64 values)."""
    return _unpack("q", steps), _unpack("d", timestamps), _unpack("d", values)
