"""Rows of metric summaries and metric chunks; reading a history back in step order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from mled.store.sql.codec import EncodedChunk
from mled.store.sql.keys import reserve_ids
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


def save_summary(conn: Connection, experiment_pk: int, row: SummaryRow) -> int:
    values = {
        "last": row.last,
        "min": row.min,
        "max": row.max,
        "count": row.count,
        "last_step": row.last_step,
        "last_timestamp": row.last_timestamp,
    }
    if row.id is None:
        (row.id,) = reserve_ids(conn, metrics, 1)
        conn.execute(
            insert(metrics).values(id=row.id, experiment_id=experiment_pk, key=row.key, **values)
        )
    else:
        conn.execute(update(metrics).where(metrics.c.id == row.id).values(**values))
    return row.id


def save_summaries(conn: Connection, experiment_pk: int, rows: list[SummaryRow]) -> list[int]:
    """Save ``rows`` (inserting new keys) and the experiment's summary; returns their keys."""
    pks = [save_summary(conn, experiment_pk, row) for row in rows]
    refresh_summary(conn, experiment_pk, with_metrics=True)
    return pks


def insert_chunks(conn: Connection, rows: list[tuple[int, EncodedChunk]], audit_seq: int) -> None:
    conn.execute(
        insert(metric_chunks),
        [
            {
                "metric_id": metric_id,
                "first_step": c.first_step,
                "last_step": c.last_step,
                "count": c.count,
                "steps": c.steps,
                "timestamps": c.timestamps,
                "values": c.values,
                "digest": c.digest,
                "audit_seq": audit_seq,
            }
            for metric_id, c in rows
        ],
    )


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
