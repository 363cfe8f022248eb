"""Experiment summaries: an experiment's params, tags and metric summaries in one row.

The ``params``, ``tags`` and ``metrics`` tables stay the truth that queries filter and sort
on. A summary row (table ``experiment_summaries``) is derived from them and written by the
same transaction that changes them, so loading the 5,000 experiments a search returns reads
5,000 rows instead of about 175,000 and decodes three small values per experiment:

- ``params``: a JSON object of the typed values, keys sorted. The stored canonical text of
  ints, floats, bools and JSON values *is* JSON (non-finite floats become the ``NaN`` and
  ``Infinity`` tokens Python's parser reads), strings are quoted, so nothing is re-rendered
  and every value decodes to exactly what ``decode_param`` gives.
- ``tags``: a JSON object of the texts, keys sorted.
- ``metric_keys`` (sorted, one per line: a metric key never holds a line break) and
  ``metric_values``: one packed little-endian
  record per key, ``last``, ``min``, ``max`` (float64; NaN stands for a NULL ``min``/``max``,
  which never hold NaN), ``count``, ``last_step`` (int64), ``last_timestamp`` (float64).
  Binary floats round-trip exactly; JSON text of 60 floats would take ten times as long to
  parse.

The JSON objects are decoded by :func:`decode_document`: orjson where it gives exactly what
``json.loads`` gives, ``json.loads`` for the few documents where it would not.

Writers either insert a new experiment's summary from values they already hold
(:func:`insert_summaries`) or re-derive parts of it from the tables after a change
(:func:`refresh_summary`).

Example:
    >>> keys, packed = encode_metrics([("acc", 0.9, 0.5, 0.9, 3, 2, 1700000000.0)])
    >>> decode_metrics(keys, packed)["acc"].max
    0.9
    >>> encode_params({"lr": ("float", "0.001"), "opt": ("str", "adam")})
    '{"lr":0.001,"opt":"adam"}'
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

import orjson
from sqlalchemy import Connection, select, update

from mled.entities import MetricSummary
from mled.store.sql.keys import insert_rows
from mled.store.sql.tables import experiment_summaries, metrics, params, tags

RECORD = struct.Struct("<dddqqd")
"""One metric summary: last, min, max, count, last_step, last_timestamp."""

SummaryValues = tuple[str, str, str, bytes]
"""(params, tags, metric_keys, metric_values) as stored."""

MetricValues = tuple[str, float | None, float | None, float | None, int, int, float]
"""(key, last, min, max, count, last_step, last_timestamp); ``last`` None means NaN."""

_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_NAN = math.nan
# What JSONEncoder(ensure_ascii=True).encode does with a str, minus its Python-level dispatch:
# encode_params quotes about 27 strings per experiment, and this halved its time (6.9 -> 3.9
# microseconds for 20 params).
_quote = encode_basestring_ascii


def encode_params(values: Mapping[str, tuple[str, str]]) -> str:
    """The params object from ``{key: (value_type, value_text)}`` as stored in ``params``."""
    parts = []
    for key in sorted(values):
        vtype, text = values[key]
        if vtype == "str":
            value = _quote(text)
        elif vtype == "float":
            value = _NON_FINITE.get(text, text)
        else:
            value = text
        parts.append(f"{_quote(key)}:{value}")
    return "{" + ",".join(parts) + "}"


def encode_tags(values: Mapping[str, str]) -> str:
    """The tags object, keys sorted."""
    return json.dumps(dict(sorted(values.items())), ensure_ascii=True, separators=(",", ":"))


def encode_metrics(rows: Iterable[MetricValues]) -> tuple[str, bytes]:
    """(metric_keys, metric_values) of the summaries ``rows``, sorted by key."""
    ordered = sorted(rows)
    packed = b"".join(
        RECORD.pack(
            _NAN if last is None else last,
            _NAN if lo is None else lo,
            _NAN if hi is None else hi,
            count,
            last_step,
            last_ts,
        )
        for _, last, lo, hi, count, last_step, last_ts in ordered
    )
    return "\n".join(r[0] for r in ordered), packed


def decode_metrics(keys: str, packed: bytes) -> dict[str, MetricSummary]:
    """The metric summaries of one experiment (``last`` is NaN when the last value was).

    Example:
        >>> loss = decode_metrics(*encode_metrics([("loss", None, None, None, 1, 0, 0.0)]))["loss"]
        >>> loss.last, loss.min, loss.count
        (nan, None, 1)
    """
    return decode_metrics_and_lasts(keys, packed)[0]


def decode_metrics_and_lasts(
    keys: str, packed: bytes
) -> tuple[dict[str, MetricSummary], dict[str, float]]:
    """The metric summaries of one experiment and ``{key: last}`` (an ``Experiment``'s
    ``metrics``), from one pass over the records.

    Example:
        >>> summaries, lasts = decode_metrics_and_lasts(*encode_metrics(
        ...     [("acc", 0.9, 0.5, 0.9, 3, 2, 1700000000.0)]))
        >>> summaries["acc"].min, lasts
        (0.5, {'acc': 0.9})
    """
    if not keys:
        return {}, {}
    # Loading 5,000 experiments builds 50,000 summaries. Setting the slots of a bare instance
    # here skips the generated __init__ (a Python frame per summary), and building ``lasts`` in
    # the same pass spares the loader a second loop: together a seventh faster. MetricSummary
    # has no __post_init__ or defaults that this would bypass (the tests compare with __init__).
    cls = MetricSummary
    new = object.__new__
    out: dict[str, MetricSummary] = {}
    lasts: dict[str, float] = {}
    for key, (last, lo, hi, count, step, ts) in zip(
        keys.split("\n"), RECORD.iter_unpack(packed), strict=True
    ):
        out[key] = s = new(cls)
        s.key = key
        lasts[key] = s.last = last
        s.min = None if lo != lo else lo
        s.max = None if hi != hi else hi
        s.count = count
        s.last_step = step
        s.last_timestamp = ts
    return out, lasts


_orjson_loads = orjson.loads
_json_loads = json.loads
_INT64_FLOAT = 2.0**63
"""orjson reads an integer beyond 64 bits (a big int param, a seed) as a float, at least this
large in magnitude; ``json`` keeps it an int."""


def decode_document(text: str) -> Any:
    """``json.loads(text)``, with orjson (several times as fast) wherever its answer is the same.

    orjson refuses the ``NaN``/``Infinity`` tokens that ``encode_params`` writes for
    non-finite floats, escaped lone surrogates and nesting deeper than 1,024: those
    documents go to ``json``. It also reads an integer beyond 64 bits as a float without
    complaint, so a document in which orjson found a float that large is read again by
    ``json`` too (a true float that large decodes the same either way).

    Example:
        >>> decode_document('{"lr":0.001,"n":18446744073709551616,"x":NaN}')
        {'lr': 0.001, 'n': 18446744073709551616, 'x': nan}
    """
    try:
        value = _orjson_loads(text)
    except orjson.JSONDecodeError:
        return _json_loads(text)
    try:
        if _holds_huge_float(value.values() if type(value) is dict else (value,)):
            return _json_loads(text)
    except RecursionError:  # nested deeper than this stack allows: json decides, as before
        return _json_loads(text)
    return value


def decode_tags(text: str) -> dict[str, str]:
    """The tags object: ``decode_document`` without its search for huge numbers, since every
    tag value is text (orjson still hands what it refuses, such as lone surrogates, to json).

    Example:
        >>> decode_tags('{"team":"nlp","x":"\\ud800"}') == {"team": "nlp", "x": "\ud800"}
        True
    """
    value: dict[str, str] = decode_int64_document(text)
    return value


def decode_int64_document(text: str) -> Any:
    """``json.loads(text)`` for a document whose integers all fit in 64 bits: orjson, or
    ``json`` for what orjson refuses (``NaN``/``Infinity``, lone surrogates, deep nesting).
    ``decode_document`` without its search for huge numbers.

    Example:
        >>> decode_int64_document('[1,NaN,"a"]')
        [1, nan, 'a']
    """
    try:
        return _orjson_loads(text)
    except orjson.JSONDecodeError:
        return _json_loads(text)


def _holds_huge_float(values: Iterable[Any]) -> bool:
    """Whether ``values`` (decoded JSON) hold, at any depth, a float of magnitude at least
    ``_INT64_FLOAT``."""
    for value in values:
        kind = type(value)
        if kind is float:
            if not -_INT64_FLOAT < value < _INT64_FLOAT:
                return True
        elif kind is dict:
            if _holds_huge_float(value.values()):
                return True
        elif kind is list and _holds_huge_float(value):
            return True
    return False


def insert_summaries(conn: Connection, rows: Sequence[tuple[int, SummaryValues]]) -> None:
    """Insert the summaries of experiments created in this transaction."""
    columns = ("experiment_id", "params", "tags", "metric_keys", "metric_values")
    insert_rows(conn, experiment_summaries, columns, [(pk, *v) for pk, v in rows])


def refresh_summary(
    conn: Connection,
    experiment_pk: int,
    *,
    with_params: bool = False,
    with_tags: bool = False,
    with_metrics: bool = False,
) -> None:
    """Re-derive the named parts of one experiment's summary from the tables.

    Called by every write that changes params, tags or metric summaries, in its transaction.
    A missing summary row is rebuilt whole.
    """
    values: dict[str, Any] = {}
    if with_params:
        values["params"] = read_params(conn, experiment_pk)
    if with_tags:
        values["tags"] = read_tags(conn, experiment_pk)
    if with_metrics:
        values["metric_keys"], values["metric_values"] = read_metrics(conn, experiment_pk)
    if not values:
        return
    c = experiment_summaries.c
    stmt = update(experiment_summaries).where(c.experiment_id == experiment_pk).values(**values)
    done = conn.execute(stmt)
    if done.rowcount == 0:
        insert_summaries(conn, [(experiment_pk, derive_summary(conn, experiment_pk))])


def derive_summary(conn: Connection, experiment_pk: int) -> SummaryValues:
    """One experiment's whole summary, read from the tables."""
    keys, packed = read_metrics(conn, experiment_pk)
    return read_params(conn, experiment_pk), read_tags(conn, experiment_pk), keys, packed


def read_params(conn: Connection, experiment_pk: int) -> str:
    c = params.c
    stmt = select(c.key, c.value_type, c.value_text).where(c.experiment_id == experiment_pk)
    return encode_params({r[0]: (r[1], r[2]) for r in conn.execute(stmt)})


def read_tags(conn: Connection, experiment_pk: int) -> str:
    c = tags.c
    stmt = select(c.key, c.value).where(c.experiment_id == experiment_pk)
    return encode_tags({r[0]: r[1] for r in conn.execute(stmt)})


def read_metrics(conn: Connection, experiment_pk: int) -> tuple[str, bytes]:
    c = metrics.c
    stmt = select(c.key, c.last, c.min, c.max, c["count"], c.last_step, c.last_timestamp).where(
        c.experiment_id == experiment_pk
    )
    return encode_metrics(
        (k, last, lo, hi, int(n), int(step), float(ts))
        for k, last, lo, hi, n, step, ts in conn.execute(stmt)
    )
