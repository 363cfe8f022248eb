"""Loading ``Experiment`` entities: one query per 900 experiments, whatever their size.

Each experiment row comes joined with its summary row (see :mod:`mled.store.sql.summaries`):
params and tags as one JSON object each, metric summaries as packed binary records. So a
search that returns 5,000 experiments with 20 params, 10 metrics and 5 tags each decodes
5,000 rows instead of building 175,000, and the values are exactly the stored ones. The
names of the few projects, owners, parents and originals involved are looked up once per
load. An experiment whose summary row is missing (a store edited by hand) is loaded from the
tables.

Example:
    >>> decode_param("float", "0.001"), decode_param("json", "[1,2]")
    (0.001, [1, 2])
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Select, Table, select

from mled.entities import Experiment
from mled.store.sql.driver import fetch_rows
from mled.store.sql.frozen import frozen_builder
from mled.store.sql.keys import placeholder
from mled.store.sql.summaries import (
    SummaryValues,
    decode_document,
    decode_metrics_and_lasts,
    decode_tags,
    derive_summary,
)
from mled.store.sql.tables import experiment_summaries, experiments, projects, users

IN_CHUNK = 900  # keeps IN (...) lists well under every dialect's bound-parameter limit


def decode_param(value_type: str, value_text: str) -> Any:
    """Inverse of the service's param encoding (type tag + canonical text)."""
    if value_type == "str":
        return value_text
    if value_type == "int":
        return int(value_text)
    if value_type == "float":
        return float(value_text)
    if value_type == "bool":
        return value_text == "true"
    return json.loads(value_text)


def _json(text: str | None) -> Any:
    return None if text is None else decode_document(text)


def chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    """``items`` in slices of at most ``IN_CHUNK``."""
    for i in range(0, len(items), IN_CHUNK):
        yield items[i : i + IN_CHUNK]


_E = experiments.c
# Names of projects, owners, parents and originals are looked up once per load rather than
# joined into every row: a few distinct keys, and the joins were a third of the row query.
_LIGHT_COLUMNS = (
    _E.id,
    _E.public_id,
    _E.project_id,
    _E.name,
    _E.status,
    _E.owner_id,
    _E.created_at,
    _E.started_at,
    _E.ended_at,
    _E.group_name,
    _E.parent_id,
    _E.notes,
    _E.seeds,
    _E.error,
    _E.reproduction_of,
)
_SUMMARY_COLUMNS = (
    experiment_summaries.c.params,
    experiment_summaries.c.tags,
    experiment_summaries.c.metric_keys,
    experiment_summaries.c.metric_values,
)
_CAPTURE_COLUMNS = (_E.source, _E.command, _E.environment)


def _experiment_rows(light: bool) -> Select[Any]:
    columns: tuple[Any, ...] = (*_LIGHT_COLUMNS, *_SUMMARY_COLUMNS)
    if not light:
        columns = (*columns, *_CAPTURE_COLUMNS)
    return select(*columns).outerjoin_from(
        experiments,
        experiment_summaries,
        experiment_summaries.c.experiment_id == _E.id,
    )


_BY_IDS: dict[str, tuple[Select[Any], Table]] = {
    "light": (_experiment_rows(True), experiments),
    "full": (_experiment_rows(False), experiments),
    "project": (select(projects.c.id, projects.c.name), projects),
    "user": (select(users.c.id, users.c.username), users),
    "experiment": (select(_E.id, _E.public_id), experiments),
}
"""What a load selects by ID: each statement's rows, and the table whose ``id`` is chosen."""


def _fetch_by_ids(conn: Connection, kind: str, ids: Sequence[int]) -> list[tuple[Any, ...]]:
    """The rows of the ``kind`` statement of ``_BY_IDS`` for ``ids``, ``IN_CHUNK`` at a time,
    sent straight to the driver (:mod:`mled.store.sql.driver`).

    Through SQLAlchemy, an ``IN`` of expanding bound parameters is rendered again at every
    execution: loading 4,500 experiments spent 29-35 ms there instead of 17-18 ms.
    """
    rows: list[tuple[Any, ...]] = []
    for part in chunks(ids):
        rows.extend(fetch_rows(conn, _by_ids_sql(conn.dialect, kind, len(part)), part))
    return rows


@lru_cache(maxsize=128)
def _by_ids_sql(dialect: Dialect, kind: str, count: int) -> str:
    """The ``kind`` statement restricted to ``count`` IDs, as the driver's SQL with
    positional parameters (only names are written in; the IDs are bound)."""
    stmt, table = _BY_IDS[kind]
    quote = dialect.identifier_preparer.quote
    marks = ", ".join(placeholder(dialect) for _ in range(count))
    return f"{stmt.compile(dialect=dialect)} WHERE {quote(table.name)}.id IN ({marks})"


def _names(conn: Connection, kind: str, keys: set[Any]) -> dict[Any, Any]:
    """{key: name} of the projects, users or experiments (public IDs) with ``keys``."""
    keys.discard(None)
    out: dict[Any, Any] = {None: None}
    out.update(_fetch_by_ids(conn, kind, sorted(keys)))
    return out


def fetch_plain(
    conn: Connection, stmt: Select[Any], params: dict[str, Any] | None = None
) -> list[Any]:
    """The rows of ``stmt`` as the driver's plain tuples, skipping SQLAlchemy's ``Row``.

    Only for statements with no column SQLAlchemy would convert: the loaders' and the
    compiled searches' columns are ints, floats, text and bytes as the drivers return them.
    Building ``Row`` objects was a tenth of the time of loading 5,000 experiments, and a
    third of the time of the search statement that found them.
    """
    result = conn.execute(stmt, params)
    try:
        rows = list(result.cursor.fetchall())
    finally:
        result.close()
    return rows


def load_experiments(
    conn: Connection, pks: Sequence[int], *, light: bool = False
) -> list[Experiment]:
    """Load entities (params, metric summaries, tags) for ``pks``, in the order given.

    ``light=True`` leaves out the capture records (``source``, ``command`` and
    ``environment`` are None): lists and search results do not show them, and they are most
    of the bytes of an experiment row.

    Example:
        >>> [e.name for e in load_experiments(conn, [3, 1])]  # doctest: +SKIP
        ['third', 'first']
    """
    with _collector_paused(len(pks) >= GC_PAUSE_ABOVE):
        return _load(conn, pks, light)


GC_PAUSE_ABOVE = 1_000
"""Loads of more experiments than this run with the cyclic garbage collector paused."""


@contextmanager
def _collector_paused(pause: bool) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many new objects are built.

    Loading 10,000 experiments allocates millions of objects, none of them in a reference
    cycle, and the collector would traverse them again and again (a third of the time).
    Only a collector this call paused is resumed, so nested or concurrent loads are safe.

    Before resuming it, the objects allocated meanwhile are moved to the oldest generation
    (``gc.freeze()`` then ``gc.unfreeze()``, two list splices): otherwise the first young
    collection after the load traverses all of them at once, and the next one again (about
    30 ms after loading 5,000 experiments). Any cycle among them is still collected, by the
    next full collection.
    """
    paused = pause and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _load(conn: Connection, pks: Sequence[int], light: bool) -> list[Experiment]:
    rows = _fetch_by_ids(conn, "light" if light else "full", list(dict.fromkeys(pks)))
    projects_ = _names(conn, "project", {r[2] for r in rows})
    owners = _names(conn, "user", {r[5] for r in rows})
    origins = _names(conn, "experiment", {r[10] for r in rows} | {r[14] for r in rows})
    decode = decode_document
    build = _build_experiment
    time = _time
    found: dict[int, Experiment] = {}
    # One loop body, with no helper call and no intermediate tuples per row: a search can load
    # 100,000 experiments, where every microsecond per row is a tenth of a second.
    for row in rows:
        (pk, public_id, project_pk, name, status, owner_pk, created, started, ended) = row[:9]
        (group, parent_pk, notes, seeds, error, original_pk, p, t, keys, packed) = row[9:19]
        if p is None:
            p, t, keys, packed = derive_summary(conn, pk)
        summaries, lasts = decode_metrics_and_lasts(keys, packed)
        found[pk] = build(
            public_id,
            projects_[project_pk],
            name,
            status,
            owners[owner_pk],
            time(created, UTC),
            None if started is None else time(started, UTC),
            None if ended is None else time(ended, UTC),
            group,
            origins[parent_pk],
            notes,
            decode(p),
            lasts,
            summaries,
            decode_tags(t),
            None if light else _json(row[19]),  # source
            None if light else _json(row[20]),  # command
            None if light else _json(row[21]),  # environment
            None if seeds is None else decode(seeds),
            error,
            origins[original_pk],
        )
    return [found[pk] for pk in pks if pk in found]


_build_experiment = frozen_builder(Experiment)  # fields in declaration order
_time = datetime.fromtimestamp


def written_experiment(
    row: Mapping[str, Any],
    names: tuple[str, str, str | None, str | None],
    summary: SummaryValues,
) -> Experiment:
    """The entity of an experiment this transaction just inserted, built from what it wrote.

    ``row`` holds the values of the inserted ``experiments`` row by column (a column left out
    is NULL), ``names`` the project's name, the owner's username and the public IDs of the
    parent and of the original it reproduces, ``summary`` its inserted summary row. The
    result equals what :func:`load_experiments` reads back (the loader's conversions applied
    to the same values), without the three queries that would read them back.

    Example:
        >>> names = ("vision", "alice", None, None)
        >>> exp = written_experiment(row, names, summary)  # doctest: +SKIP
        >>> exp == load_experiments(conn, [pk])[0]  # doctest: +SKIP
        True
    """
    project, owner, parent, original = names
    params_doc, tags_doc, metric_keys, metric_values = summary
    summaries, lasts = decode_metrics_and_lasts(metric_keys, metric_values)
    return Experiment(
        id=str(row["public_id"]),
        project=str(project),
        name=str(row["name"]),
        status=str(row["status"]),
        owner=str(owner),
        created_at=datetime.fromtimestamp(float(row["created_at"]), UTC),
        started_at=_written_time(row.get("started_at")),
        ended_at=_written_time(row.get("ended_at")),
        group=_text(row.get("group_name")),
        parent_id=parent,
        notes=str(row["notes"]),
        params=decode_document(params_doc),
        metrics=lasts,
        metric_summaries=summaries,
        tags=decode_tags(tags_doc),
        source=_json(row.get("source")),
        command=_json(row.get("command")),
        environment=_json(row.get("environment")),
        seeds=_json(row.get("seeds")),
        error=row.get("error"),
        reproduction_of=original,
    )


def _text(value: str | None) -> str | None:
    # str(): a str subclass (numpy.str_) is stored as text, and read back as a str.
    return None if value is None else str(value)


def _written_time(epoch: float | None) -> datetime | None:
    # float(): the column is a double, so an int is read back as the float stored.
    return None if epoch is None else datetime.fromtimestamp(float(epoch), UTC)
