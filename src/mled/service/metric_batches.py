"""Writing one batch of metric points: chunks, summaries and the batch's audit event.

Used by live logging (``MetricService.log_batch``); experiments created with their metrics
(``ExperimentService.create``, ``import_many``) are written by :mod:`mled.service.bulk`, with
the same chunk encoding, summaries and digests.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isnan

from sqlalchemy import Connection

from mled.entities import Series
from mled.errors import InvalidInput, InvalidMetricValue
from mled.service.audit import AuditWriter
from mled.store.sql import metrics as metric_rows
from mled.store.sql.codec import EncodedChunk, encode_chunk
from mled.store.sql.metrics import SummaryRow
from mled.validation import validate_key

MAX_BATCH_POINTS = 5_000_000


def _encode(key: str, series: Series) -> EncodedChunk:
    steps, timestamps, values = series
    if not (len(steps) == len(timestamps) == len(values)):
        raise InvalidInput(
            f"metric {key!r}: steps, timestamps and values have different lengths "
            f"({len(steps)}, {len(timestamps)}, {len(values)})"
        )
    try:
        # encode_chunk only reads its arguments, so a list needs no defensive copy.
        return encode_chunk(
            steps if type(steps) is list else list(steps),
            timestamps if type(timestamps) is list else list(timestamps),
            values if type(values) is list else list(values),
        )
    except (TypeError, OverflowError) as err:
        raise InvalidMetricValue(
            f"metric {key!r} has a value, step or timestamp that is not a number: {err}"
        ) from err


_SEQUENCES = (list, tuple)


def _summarize(row: SummaryRow, series: Series) -> None:
    """Fold a series into its key's summary (last by step then time; extremes skip NaN)."""
    steps, timestamps, values = series
    if (
        type(steps) in _SEQUENCES
        and type(values) in _SEQUENCES
        and len(steps) == 1
        and len(values) == 1
        and type(steps[0]) is int
    ):
        # One point, the common case of bulk imports: the general code below reduced to it
        # (no list of finite values, no min/max search), doing the same steps in the same order.
        v = values[0]
        if not isnan(v):
            row.min = v if row.min is None else min(row.min, v)
            row.max = v if row.max is None else max(row.max, v)
        step = steps[0]
        if row.count == 0 or (step, timestamps[0]) >= (row.last_step, row.last_timestamp):
            row.last = None if isnan(v) else v
            row.last_step, row.last_timestamp = step, float(timestamps[0])  # int(step) is step
        row.count += 1
        return
    finite = [v for v in values if not isnan(v)]
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
        row.last = None if isnan(v) else v
        row.last_step, row.last_timestamp = int(steps[idx]), float(timestamps[idx])
    row.count += len(steps)


def encode_batch(batch: Mapping[str, Series]) -> dict[str, EncodedChunk]:
    """Validate and pack a batch before any transaction starts; empty series are dropped."""
    chunks: dict[str, EncodedChunk] = {}
    total = 0
    for k, s in batch.items():
        if len(s[0]):
            name = validate_key(k, "metric")  # the key is checked before its series is packed
            chunk = chunks[name] = _encode(k, s)
            total += chunk.count
    if total > MAX_BATCH_POINTS:
        raise InvalidInput(
            f"a batch holds {total} points; the limit is {MAX_BATCH_POINTS}",
            hint="Flush more often (smaller batches).",
        )
    return chunks


def write_batch(
    conn: Connection,
    audit: AuditWriter,
    experiment_pk: int,
    experiment_id: str,
    batch: Mapping[str, Series],
    chunks: dict[str, EncodedChunk],
) -> int:
    """Store packed chunks, fold them into the summaries, and audit the batch's digests."""
    summaries = metric_rows.lock_summaries(conn, experiment_pk, sorted(chunks))
    changed = []
    for name in sorted(chunks):
        row = summaries.get(name) or SummaryRow(None, name, None, None, None, 0, 0, 0.0)
        _summarize(row, batch[name])
        changed.append(row)
    metric_rows.save_batch(conn, experiment_pk, changed, chunks, audit.next_seq)
    total = sum(c.count for c in chunks.values())
    audit.record(
        "metrics.log",
        "experiment",
        experiment_id,
        after={"points": total, "chunks": {k: c.digest for k, c in chunks.items()}},
    )
    return total
