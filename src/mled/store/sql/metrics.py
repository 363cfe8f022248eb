"""Rows of metric summaries and metric chunks; reading a history back in step order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, select

from mled.store.sql.codec import EncodedChunk
from mled.store.sql.driver import pipelined
from mled.store.sql.keys import insert_rows, reserve_ids, update_rows
from mled.store.sql.summaries import refresh_summary
from mled.store.sql.tables import experiments, metric_chunks, metrics


@dataclass(slots=True)
class SummaryRow:
    """The mutable per-key summary the service recomputes on every flush."""

    id: int | None
    key: str
    last: float | None
    min: float | None
    max: float | None
    count: int
    last_step: int
    last_timestamp: float


def lock_summaries(conn: Connection, experiment_pk: int, keys: list[str]) -> dict[str, SummaryRow]:
    """Fetch (and on PostgreSQL lock) the summary rows of ``keys``."""
    stmt = (
        select(metrics)
        .where(metrics.c.experiment_id == experiment_pk, metrics.c.key.in_(keys))
        .with_for_update()
    )
    return {
        r.key: SummaryRow(
            r.id,
            r.key,
            r.last,
            r.min,
            r.max,
            int(r._mapping["count"]),
            int(r.last_step),
            float(r.last_timestamp),
        )
        for r in conn.execute(stmt)
    }


SUMMARY_COLUMNS = ("last", "min", "max", "count", "last_step", "last_timestamp")


METRIC_COLUMNS = ("id", "experiment_id", "key", *SUMMARY_COLUMNS)


def summary_values(row: SummaryRow) -> tuple[Any, ...]:
    """The values of ``SUMMARY_COLUMNS`` of ``row``."""
    return (row.last, row.min, row.max, row.count, row.last_step, row.last_timestamp)


def summary_row(experiment_pk: int, row: SummaryRow) -> tuple[Any, ...]:
    """The ``metrics`` row (values of ``METRIC_COLUMNS``) of a summary whose ``id`` is set."""
    return (row.id, experiment_pk, row.key, *summary_values(row))


def save_batch(
    conn: Connection,
    experiment_pk: int,
    rows: list[SummaryRow],
    chunks: Mapping[str, EncodedChunk],
    audit_seq: int,
) -> None:
    """Save a metric batch: the summary ``rows`` (inserting new keys), one chunk per row
    (``chunks`` by key) and the experiment's summary.

    The inserts and updates are one pipeline on PostgreSQL: a batch of ten metrics waits for
    the server once instead of ten times.
    """
    new = [row for row in rows if row.id is None]
    known = [(*summary_values(row), row.id) for row in rows if row.id is not None]
    for row, pk in zip(new, reserve_ids(conn, metrics, len(new)), strict=True):
        row.id = pk
    with pipelined(conn):
        insert_rows(conn, metrics, METRIC_COLUMNS, [summary_row(experiment_pk, r) for r in new])
        update_rows(conn, metrics, SUMMARY_COLUMNS, known)
        insert_chunks(conn, [(cast(int, row.id), chunks[row.key]) for row in rows], audit_seq)
    refresh_summary(conn, experiment_pk, with_metrics=True)


CHUNK_COLUMNS = (
    "metric_id",
    "first_step",
    "last_step",
    "count",
    "steps",
    "timestamps",
    "values",
    "digest",
    "audit_seq",
)


def chunk_row(metric_pk: int, chunk: EncodedChunk, audit_seq: int) -> tuple[Any, ...]:
    """The ``metric_chunks`` row (values of ``CHUNK_COLUMNS``) of one packed chunk."""
    return (
        metric_pk,
        chunk.first_step,
        chunk.last_step,
        chunk.count,
        chunk.steps,
        chunk.timestamps,
        chunk.values,
        chunk.digest,
        audit_seq,
    )


def insert_chunks(conn: Connection, rows: list[tuple[int, EncodedChunk]], audit_seq: int) -> None:
    """Insert one chunk per ``(metric key, chunk)`` of ``rows``, with one statement."""
    insert_rows(conn, metric_chunks, CHUNK_COLUMNS, [chunk_row(k, c, audit_seq) for k, c in rows])


def metric_id(conn: Connection, experiment_pk: int, key: str) -> int | None:
    return conn.execute(
        select(metrics.c.id).where(metrics.c.experiment_id == experiment_pk, metrics.c.key == key)
    ).scalar_one_or_none()


def metric_keys(conn: Connection, experiment_pk: int) -> list[str]:
    stmt = select(metrics.c.key).where(metrics.c.experiment_id == experiment_pk)
    return sorted(r[0] for r in conn.execute(stmt))


def read_chunks(conn: Connection, metric_pk: int) -> list[tuple[bytes, bytes, bytes]]:
    """Packed chunks of one history, in the order they should be merged."""
    c = metric_chunks.c
    stmt = (
        select(c.steps, c.timestamps, c["values"])
        .where(c.metric_id == metric_pk)
        .order_by(c.first_step, c.id)
    )
    return [(bytes(r[0]), bytes(r[1]), bytes(r[2])) for r in conn.execute(stmt)]


def iter_chunks_for_verify(conn: Connection) -> Iterator[Any]:
    """Every chunk with the ids needed to name it in a verification report."""
    c = metric_chunks.c
    stmt = (
        select(
            c.id,
            c.steps,
            c.timestamps,
            c["values"],
            c.digest,
            c.audit_seq,
            metrics.c.key,
            experiments.c.public_id,
        )
        .join(metrics, metrics.c.id == c.metric_id)
        .join(experiments, experiments.c.id == metrics.c.experiment_id)
        .order_by(c.audit_seq, c.id)
    )
    yield from conn.execute(stmt)
