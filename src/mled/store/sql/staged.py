"""Rows of ``staged_experiments``: new experiments kept as one row each until written.

A staged experiment is a :class:`NewExperimentRows` stored as a JSON ``document`` (every
value that is not bytes) and a ``data`` blob (the metric chunks' arrays and the packed metric
summaries, one after the other, sized by the document). JSON keeps non-finite floats
(``NaN``, ``Infinity``) and floats' exact values; nothing in a staged row is executable.
Documents are written and read by orjson (several times as fast as ``json``, which costs a
creation call about a tenth of a millisecond each way), except where orjson would not give
back what ``json`` gives: a document holding a non-finite float (orjson writes ``null``) or a
value orjson refuses is written, and then read, by ``json``.

Example:
    >>> stage(conn, rows)  # doctest: +SKIP
    >>> [r.audit_seq for r in staged_batch(conn, limit=10)]  # doctest: +SKIP
    [12]
"""

from __future__ import annotations

import json
from math import isfinite
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from mled.errors import StoreUnavailable
from mled.store.sql.codec import EncodedChunk
from mled.store.sql.driver import fetch_rows, pipelined
from mled.store.sql.keys import insert_rows
from mled.store.sql.new_experiments import NewExperimentRows
from mled.store.sql.summaries import decode_int64_document
from mled.store.sql.tables import staged_experiments

_COLUMNS = ("seq", "public_id", "document", "data")
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_orjson_dumps = orjson.dumps


def stage(conn: Connection, rows: NewExperimentRows) -> None:
    """Keep ``rows`` as one staged row, in this transaction (on PostgreSQL sent without
    waiting for the answer: an error is raised at the latest when the transaction ends)."""
    document, data = encode_staged(rows)
    with pipelined(conn):
        insert_rows(
            conn,
            staged_experiments,
            _COLUMNS,
            [(rows.audit_seq, rows.row["public_id"], document, data)],
        )


def has_staged(conn: Connection) -> bool:
    """Whether any experiment is staged: one probe, run by every service transaction."""
    return bool(fetch_rows(conn, "SELECT 1 FROM staged_experiments LIMIT 1"))


def oldest_staged(conn: Connection) -> int | None:
    """The ``seq`` of the oldest staged experiment, if any (one probe of the key)."""
    (value,) = fetch_rows(conn, "SELECT min(seq) FROM staged_experiments")[0]
    return None if value is None else int(value)


def is_staged(conn: Connection, public_id: str) -> bool:
    c = staged_experiments.c
    return conn.execute(select(c.seq).where(c.public_id == public_id)).first() is not None


def staged_batch(conn: Connection, *, limit: int) -> list[NewExperimentRows]:
    """The ``limit`` oldest staged experiments, oldest first."""
    c = staged_experiments.c
    stmt = select(c.seq, c.document, c.data).order_by(c.seq).limit(limit)
    out = []
    for seq, document, data in conn.execute(stmt):
        try:
            out.append(decode_staged(document, bytes(data)))
        except (ValueError, TypeError, KeyError) as err:
            raise unwritable_stage(f"audit event {seq}", f"unreadable row ({err})") from err
    return out


def unwritable_stage(which: str, reason: str) -> StoreUnavailable:
    """The error of staged experiments (``which``) that cannot be written, and why."""
    return StoreUnavailable(
        f"the staged experiments of {which} cannot be written to the experiment tables: "
        f"{reason}. They stay staged, and every call fails until they can be written.",
        hint="Only a bug or a hand edit of the database can cause this: run `mled audit "
        "verify` and report this message.",
    )


def unstage(conn: Connection, through_seq: int) -> None:
    """Delete the staged rows up to ``through_seq`` (their rows were written)."""
    conn.execute(delete(staged_experiments).where(staged_experiments.c.seq <= through_seq))


def encode_staged(rows: NewExperimentRows) -> tuple[str, bytes]:
    """``(document, data)`` of ``rows``; :func:`decode_staged` is the inverse."""
    blobs: list[bytes] = []
    chunks = []
    for c in rows.chunks:
        blobs += (c.steps, c.timestamps, c.values)
        chunks.append(
            (
                c.first_step,
                c.last_step,
                c.count,
                c.digest,
                len(c.steps),
                len(c.timestamps),
                len(c.values),
            )
        )
    params_doc, tags_doc, metric_keys, packed = rows.summary
    blobs.append(packed)
    document = [
        rows.audit_seq,
        rows.row,
        rows.params,
        rows.tags,
        rows.metrics,
        chunks,
        [params_doc, tags_doc, metric_keys],
    ]
    return _dumps(document, _all_finite(rows)), b"".join(blobs)


def _all_finite(rows: NewExperimentRows) -> bool:
    """Whether every float among ``rows``' values is finite (answered by their sum, which is
    finite only if they all are; a sum that overflows answers no, which costs only speed)."""
    total = 0.0
    for values in (rows.row.values(), *rows.params, *rows.metrics):
        for value in values:
            if type(value) is float:
                total += value
    return isfinite(total)


def _dumps(document: list[Any], finite: bool) -> str:
    """``document`` as JSON: by orjson if its floats are all ``finite`` and orjson takes every
    value (not an integer beyond 64 bits, a subclass of float, a lone surrogate), else by
    ``json``."""
    if finite:
        try:
            return _orjson_dumps(document).decode()
        except orjson.JSONEncodeError:
            pass
    return _encode_json(document)


def decode_staged(document: str, data: bytes) -> NewExperimentRows:
    """The :class:`NewExperimentRows` :func:`encode_staged` stored as ``document`` and ``data``."""
    # Its integers are keys, steps, counts and sequence numbers, all within 64 bits.
    seq, row, params, tags, metrics, chunks, summary = decode_int64_document(document)
    blob = _Reader(data)
    decoded = []
    for first_step, last_step, count, digest, n_steps, n_times, n_values in chunks:
        decoded.append(
            EncodedChunk(
                steps=blob.take(n_steps),
                timestamps=blob.take(n_times),
                values=blob.take(n_values),
                digest=digest,
                count=count,
                first_step=first_step,
                last_step=last_step,
            )
        )
    params_doc, tags_doc, metric_keys = summary
    return NewExperimentRows(
        row=row,
        params=[_tuple(p) for p in params],
        tags=[_tuple(t) for t in tags],
        metrics=[_tuple(m) for m in metrics],
        chunks=decoded,
        summary=(params_doc, tags_doc, metric_keys, blob.rest()),
        audit_seq=seq,
    )


def _tuple(values: list[Any]) -> Any:
    """A JSON array back as the tuple it was (typed Any: its shape is the encoder's)."""
    return tuple(values)


class _Reader:
    """Consecutive slices of one bytes object."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def take(self, size: int) -> bytes:
        part = self._data[self._at : self._at + size]
        self._at += size
        return part

    def rest(self) -> bytes:
        return self._data[self._at :]
