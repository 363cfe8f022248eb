"""New experiments as the rows they become, and the statements that insert them.

Creating an experiment (``log_experiment``, an import, a staged creation being applied) first
encodes it into a :class:`NewExperimentRows`: every value of every row it adds, except the
integer keys, which are drawn when the rows are inserted. :func:`insert_new_experiments`
inserts any number of them with one multi-row ``INSERT`` per table.

Example:
    >>> pks = insert_new_experiments(conn, [rows_of_one, rows_of_another])  # doctest: +SKIP
    >>> len(pks)  # doctest: +SKIP
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mled.store.sql.codec import EncodedChunk
from mled.store.sql.driver import pipelined
from mled.store.sql.keys import insert_rows, reserve_keys
from mled.store.sql.metrics import CHUNK_COLUMNS, METRIC_COLUMNS, chunk_row
from mled.store.sql.summaries import MetricValues, SummaryValues, insert_summaries
from mled.store.sql.tables import experiments, metric_chunks, metrics, params, tags

PARAM_COLUMNS = ("experiment_id", "key", "value_type", "value_text", "value_num", "value_prefix")
TAG_COLUMNS = ("experiment_id", "key", "value", "value_prefix")

ParamRow = tuple[str, str, str, float | None, str]
"""(key, value_type, value_text, value_num, value_prefix)."""
TagRow = tuple[str, str, str]
"""(key, value, value_prefix)."""


@dataclass(frozen=True, slots=True)
class NewExperimentRows:
    """Every row one new experiment adds, without the integer keys.

    ``metrics[i]`` is the summary of the key whose history is ``chunks[i]``; the chunks refer
    to ``audit_seq``, the ``experiment.create`` or ``experiment.import`` event that lists
    their digests.
    """

    row: dict[str, Any]
    """The ``experiments`` row by column, without ``id``."""
    params: list[ParamRow]
    tags: list[TagRow]
    metrics: list[MetricValues]
    chunks: list[EncodedChunk]
    summary: SummaryValues
    audit_seq: int


def insert_new_experiments(conn: Connection, new: Sequence[NewExperimentRows]) -> list[int]:
    """Insert ``new`` in this transaction, in order; returns their ``experiments.id`` keys.

    All rows of ``new`` must have the same ``row`` columns.
    """
    if not new:
        return []
    pks, metric_keys = reserve_keys(
        conn, [(experiments, len(new)), (metrics, sum(len(n.metrics) for n in new))]
    )
    param_rows: list[tuple[Any, ...]] = []
    tag_rows: list[tuple[Any, ...]] = []
    summary_rows: list[tuple[Any, ...]] = []
    chunk_rows: list[tuple[Any, ...]] = []
    metric_pks = iter(metric_keys)
    for pk, n in zip(pks, new, strict=True):
        param_rows.extend((pk, *p) for p in n.params)
        tag_rows.extend((pk, *t) for t in n.tags)
        for values, chunk in zip(n.metrics, n.chunks, strict=True):
            metric_pk = next(metric_pks)
            summary_rows.append((metric_pk, pk, *values))
            chunk_rows.append(chunk_row(metric_pk, chunk, n.audit_seq))
    columns = ["id", *new[0].row]
    with pipelined(conn):
        insert_rows(
            conn,
            experiments,
            columns,
            [(pk, *n.row.values()) for pk, n in zip(pks, new, strict=True)],
        )
        insert_rows(conn, params, PARAM_COLUMNS, param_rows)
        insert_rows(conn, tags, TAG_COLUMNS, tag_rows)
        insert_rows(conn, metrics, METRIC_COLUMNS, summary_rows)
        insert_rows(conn, metric_chunks, CHUNK_COLUMNS, chunk_rows)
        insert_summaries(conn, [(pk, n.summary) for pk, n in zip(pks, new, strict=True)])
    return pks
