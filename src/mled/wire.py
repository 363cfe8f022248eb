"""Encodings shared by the HTTP client and server.

Metric batches travel as a compact binary body (``application/x-mled-batch``): the magic
``MLB1``, a 4-byte little-endian header length, a JSON header ``{"keys": [[key, n], ...]}``,
then for each key n int64 steps, n float64 timestamps and n float64 values (little-endian) —
the same packing as stored chunks, so neither side converts points one by one. Bodies are
gzip-compressed on the wire (``Content-Encoding: gzip``).

JSON cannot carry NaN or infinities, so floats in JSON bodies use the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` for them.

Example:
    >>> body = encode_batch({"loss": ([0, 1], [1.0, 2.0], [0.5, float("inf")])})
    >>> decode_batch(body)["loss"][2]
    [0.5, inf]
"""

from __future__ import annotations

import json
import math
import sys
import zlib
from array import array
from collections.abc import Mapping
from typing import Any

from mled.entities import Series
from mled.errors import InvalidInput, PayloadTooLarge

BATCH_MEDIA_TYPE = "application/x-mled-batch"
MAGIC = b"MLB1"
MAX_DECODED_BYTES = 256 * 1024 * 1024
MAX_IMPORT = 1_000
"""Experiments per ``POST /experiments/import`` request (the server stores them together)."""
_SWAP = sys.byteorder != "little"


def _packed(code: str, items: Any) -> bytes:
    arr = array(code, items)
    if _SWAP:
        arr.byteswap()
    return arr.tobytes()


def _unpacked(code: str, data: bytes) -> list[Any]:
    arr = array(code)
    arr.frombytes(data)
    if _SWAP:
        arr.byteswap()
    return arr.tolist()


def encode_batch(batch: Mapping[str, Series]) -> bytes:
    """Pack a batch {key: (steps, timestamps, values)} into the binary wire format."""
    header = json.dumps({"keys": [[k, len(s[0])] for k, s in batch.items()]}).encode()
    parts = [MAGIC, len(header).to_bytes(4, "little"), header]
    for steps, timestamps, values in batch.values():
        parts += [_packed("q", steps), _packed("d", timestamps), _packed("d", values)]
    return b"".join(parts)


def decode_batch(body: bytes) -> dict[str, Series]:
    """Inverse of ``encode_batch``; malformed bodies raise InvalidInput, never crash."""
    if body[:4] != MAGIC or len(body) < 8:
        raise InvalidInput("the metric batch body is not in the MLB1 format")
    size = int.from_bytes(body[4:8], "little")
    try:
        header = json.loads(body[8 : 8 + size])
        keys = [(str(k), int(n)) for k, n in header["keys"]]
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidInput(f"the metric batch header is malformed: {err}") from err
    offset = 8 + size
    out: dict[str, Series] = {}
    for key, n in keys:
        end = offset + 24 * n
        if n < 0 or end > len(body):
            raise InvalidInput(f"the metric batch is truncated inside key {key!r}")
        out[key] = (
            _unpacked("q", body[offset : offset + 8 * n]),
            _unpacked("d", body[offset + 8 * n : offset + 16 * n]),
            _unpacked("d", body[offset + 16 * n : end]),
        )
        offset = end
    if offset != len(body):
        raise InvalidInput("the metric batch has trailing bytes after its last key")
    return out


def gunzip_limited(body: bytes, limit: int = MAX_DECODED_BYTES) -> bytes:
    """Decompress a gzip body, refusing to inflate past ``limit`` bytes (zip bombs)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit)
    except zlib.error as err:
        raise InvalidInput(f"the request body is not valid gzip: {err}") from err
    if inflater.unconsumed_tail:
        raise PayloadTooLarge(f"the request body inflates to more than {limit} bytes")
    return out


def encode_float(value: float) -> float | str:
    """A JSON-safe float: non-finite values become strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def decode_float(value: float | int | str) -> float:
    """Inverse of ``encode_float`` (also accepts plain numbers)."""
    if isinstance(value, str):
        if value in ("NaN", "Infinity", "-Infinity"):
            return float(value.replace("Infinity", "inf"))
        raise InvalidInput(f"{value!r} is not a number", hint="Use a number, 'NaN', 'Infinity'.")
    return float(value)
