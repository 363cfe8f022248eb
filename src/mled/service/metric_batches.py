"""Writing one batch of metric points: chunks, summaries and the batch's audit event.

Shared by live logging (``MetricService.log_batch``) and by experiments recorded after the fact
(``ExperimentService.create`` with metrics), so both paths store and audit points identically.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

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
        return encode_chunk(list(steps), list(timestamps), list(values))
    except (TypeError, OverflowError) as err:
        raise InvalidMetricValue(
            f"metric {key!r} has a value, step or timestamp that is not a number: {err}"
        ) from err


def _summarize(row: SummaryRow, series: Series) -> None:
    """Fold a series into its key's summary (last by step then time; extremes skip NaN)."""
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


def _new_summaries(
    batch: Mapping[str, Series], chunks: dict[str, EncodedChunk]
) -> list[SummaryRow]:
    rows = []
    for name in sorted(chunks):
        row = SummaryRow(None, name, None, None, None, 0, 0, 0.0)
        _summarize(row, batch[name])
        rows.append(row)
    return rows


def encode_batch(batch: Mapping[str, Series]) -> dict[str, EncodedChunk]:
    """Validate and pack a batch before any transaction starts; empty series are dropped."""
    chunks = {validate_key(k, "metric"): _encode(k, s) for k, s in batch.items() if len(s[0])}
    total = sum(c.count for c in chunks.values())
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
    *,
    new: bool = False,
) -> int:
    """Store packed chunks, fold them into the summaries, and audit the batch's digests.

    ``new`` says the experiment was created in this transaction, so it has no summaries yet:
    they are inserted together, with no lookup first.
    """
    stored: list[tuple[int, EncodedChunk]]
    if new:
        keys = metric_rows.insert_summaries(conn, experiment_pk, _new_summaries(batch, chunks))
        stored = [(pk, chunks[name]) for pk, name in keys]
    else:
        summaries = metric_rows.lock_summaries(conn, experiment_pk, sorted(chunks))
        stored = []
        for name in sorted(chunks):
            row = summaries.get(name) or SummaryRow(None, name, None, None, None, 0, 0, 0.0)
            _summarize(row, batch[name])
            stored.append((metric_rows.save_summary(conn, experiment_pk, row), chunks[name]))
    metric_rows.insert_chunks(conn, stored, audit.next_seq)
    total = sum(c.count for c in chunks.values())
    audit.record(
        "metrics.log",
        "experiment",
        experiment_id,
        after={"points": total, "chunks": {k: c.digest for k, c in chunks.items()}},
    )
    return total
