"""Bulk writes: reserved integer keys, driver-level multi-row inserts, planner statistics.

A multi-row ``INSERT`` whose new keys must be known, in order, would need ``RETURNING`` with a
guaranteed row order, which SQLAlchemy can only give SQLite one row at a time. Reserving the
keys first lets the rows be inserted with their keys by one ``executemany``. After a bulk load
the query planner needs fresh statistics (see :func:`refresh_statistics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Dialect,
    Engine,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
)
from sqlalchemy.types import TypeEngine

from mled.store.sql.driver import execute, execute_many, fetch_rows
from mled.store.sql.engine import run_transaction
from mled.store.sql.tables import experiments


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """``count`` unused values of ``table.id``, ascending, for rows inserted in this transaction.

    PostgreSQL draws them from the column's sequence (safe with concurrent writers). SQLite
    takes the ones after the current maximum: write transactions hold the database lock
    (``BEGIN IMMEDIATE``), so no other writer can take them first.

    Example:
        >>> reserve_ids(conn, experiments, 3)  # doctest: +SKIP
        [101, 102, 103]
    """
    return reserve_keys(conn, [(table, count)])[0]


def reserve_keys(conn: Connection, wanted: Sequence[tuple[Table, int]]) -> list[list[int]]:
    """:func:`reserve_ids` for several tables with one statement: for each ``(table, count)``
    of ``wanted``, ``count`` unused values of ``table.id``, ascending.

    Creating one experiment needs keys for two tables; one statement instead of two is a
    tenth of the SQL it runs.

    Example:
        >>> reserve_keys(conn, [(experiments, 1), (metrics, 3)])  # doctest: +SKIP
        [[101], [511, 512, 513]]
    """
    used = [(i, table.name, count) for i, (table, count) in enumerate(wanted) if count > 0]
    out: list[list[int]] = [[] for _ in wanted]
    if not used:
        return out
    if conn.dialect.name == "postgresql":
        sql = _sequence_sql(len(used))
        params = tuple(v for _, name, count in used for v in (name, count))
        for part, key in fetch_rows(conn, sql, params):
            out[used[part][0]].append(int(key))
        for keys in out:
            keys.sort()
        return out
    quote = conn.dialect.identifier_preparer.quote
    sql = _max_sql(tuple(quote(name) for _, name, _ in used))
    (tops,) = fetch_rows(conn, sql)
    for (i, _, count), top in zip(used, tops, strict=True):
        first = int(top or 0) + 1
        out[i] = list(range(first, first + count))
    return out


@cache
def _sequence_sql(parts: int) -> str:
    """PostgreSQL: ``(part, key)`` rows, each part drawing from the sequence of the table
    named by its first parameter as many keys as its second parameter says."""
    one = "SELECT {i}, nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)"
    return " UNION ALL ".join(one.format(i=i) for i in range(parts))


@cache
def _max_sql(quoted_tables: tuple[str, ...]) -> str:
    """SQLite: one row holding the largest ``id`` of each table (NULL when it is empty)."""
    return "SELECT " + ", ".join(f"(SELECT max(id) FROM {t})" for t in quoted_tables)


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples of ``columns``' values) with one statement: SQLite's
    ``executemany``, or on PostgreSQL ``INSERT ... SELECT * FROM unnest(...)`` with one
    array per column.

    The values go to the driver nearly as they are (only a float column's ints become
    floats), so they must already be what the driver takes: ``int``, ``float``, ``str``,
    ``bytes`` or None.

    Example:
        >>> insert_rows(conn, tags, ["experiment_id", "key", "value", "value_prefix"],
        ...             [(1, "team", "nlp", "nlp")])  # doctest: +SKIP
    """
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) == 1:
        # psycopg's executemany runs even one row through a pipeline of its own.
        execute(conn, _insert_sql(conn.dialect, table.name, tuple(columns)), rows[0])
        return
    if conn.dialect.name == "postgresql":
        # One statement with an array per column: psycopg's executemany sends and reads back
        # every row on its own, which costs several times what PostgreSQL spends inserting it.
        arrays = [
            convert(list(col))
            for convert, col in zip(
                _array_converters(table, tuple(columns)), zip(*rows, strict=True), strict=True
            )
        ]
        execute(conn, _unnest_sql(conn.dialect, table, tuple(columns)), arrays)
        return
    execute_many(conn, _insert_sql(conn.dialect, table.name, tuple(columns)), rows)


_INSERTS: dict[tuple[str, str, str, tuple[str, ...]], str] = {}


def _insert_sql(dialect: Dialect, table: str, columns: tuple[str, ...]) -> str:
    """The parameterized ``INSERT`` of :func:`insert_rows` (only names are written in), made
    once per dialect, table and columns."""
    cache_key = (dialect.name, dialect.paramstyle, table, columns)
    sql = _INSERTS.get(cache_key)
    if sql is None:
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        marks = ", ".join(placeholder(dialect) for _ in columns)
        sql = _INSERTS[cache_key] = f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})"
    return sql


def update_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str = "id",
) -> None:
    """Set ``columns`` of the rows of ``table`` whose ``key`` is given: each row of ``rows``
    holds the new values of ``columns`` followed by the key. SQLite runs one
    ``executemany``; PostgreSQL one statement per row, each sent without waiting when run
    inside :func:`mled.store.sql.driver.pipelined`.

    Example:
        >>> update_rows(conn, metrics, ["last", "count"], [(0.5, 3, 17)])  # doctest: +SKIP
    """
    if not rows:
        return
    sql = _update_sql(conn.dialect, table.name, tuple(columns), key)
    if conn.dialect.name == "postgresql":
        # psycopg's executemany would wait for each row's answer outside a pipeline of its own.
        for row in rows:
            execute(conn, sql, row)
        return
    execute_many(conn, sql, rows)


@cache
def _update_sql(dialect: Dialect, table: str, columns: tuple[str, ...], key: str) -> str:
    """The parameterized ``UPDATE`` of :func:`update_rows` (only names are written in)."""
    quote = dialect.identifier_preparer.quote
    mark = placeholder(dialect)
    assignments = ", ".join(f"{quote(c)} = {mark}" for c in columns)
    return f"UPDATE {quote(table)} SET {assignments} WHERE {quote(key)} = {mark}"


@cache
def _unnest_sql(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> str:
    """PostgreSQL: ``INSERT ... SELECT * FROM unnest(%b::type[], ...)`` taking one array of
    values per column, sent in binary (only names and type names are written in)."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    arrays = ", ".join(f"%b::{_array_type(table.c[c].type)}[]" for c in columns)
    return f"INSERT INTO {quote(table.name)} ({names}) SELECT * FROM unnest({arrays})"


def _array_type(column_type: TypeEngine[Any]) -> str:
    """The element type of a column's array: the widest of its kind, so that storing the
    value is PostgreSQL's assignment cast, which refuses a too-long string or too-large
    integer; an explicit cast to ``varchar(n)`` would cut the string silently."""
    for kind, name in _ARRAY_TYPES:
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"no array type for a {column_type!r} column")


_ARRAY_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (Float, "float8"),
    (Integer, "int8"),
    (String, "text"),
    (LargeBinary, "bytea"),
)


def _as_floats(values: list[Any]) -> list[Any]:
    # psycopg refuses a list mixing int and float; PostgreSQL would store the float anyway.
    return [None if v is None else float(v) for v in values]


def _unchanged(values: list[Any]) -> list[Any]:
    return values


@cache
def _array_converters(table: Table, columns: tuple[str, ...]) -> list[Any]:
    """Per column, what makes its values one array psycopg can send."""
    return [_as_floats if isinstance(table.c[c].type, Float) else _unchanged for c in columns]


def placeholder(dialect: Dialect) -> str:
    """The positional parameter marker of the dialect's driver, for ``exec_driver_sql``.

    Example:
        >>> from sqlalchemy.dialects import sqlite
        >>> placeholder(sqlite.dialect())
        '?'
    """
    return "?" if dialect.paramstyle == "qmark" else "%s"


_LARGEST_KEY = f"SELECT max(id) FROM {experiments.name}"


def size_estimate(conn: Connection) -> int:
    """About how many experiments the store holds: the largest key (one index lookup, where a
    count would read every row; deleted experiments still count).

    Sent straight to the driver: every search that may walk an index asks, and through
    SQLAlchemy the question took 110 us, where the database answers in 7.

    Example:
        >>> size_estimate(conn)  # doctest: +SKIP
        100000
    """
    ((largest,),) = fetch_rows(conn, _LARGEST_KEY)
    return int(largest or 0)


def planner_sorts_filtered_pages(conn: Connection) -> bool:
    """Whether the database's planner answers a filtered page with no sort key (newest first)
    by finding and sorting every match, so that walking the experiments newest first pays
    (:mod:`mled.query.walk`): SQLite's does; PostgreSQL's reads the experiments newest first
    itself and stops at the page's end.

    Example:
        >>> planner_sorts_filtered_pages(conn)  # doctest: +SKIP
        True
    """
    return conn.dialect.name == "sqlite"


STATS_GROWTH = 10
"""Statistics are refreshed once the experiments outnumber the analyzed ones this many times."""
STATS_MIN_EXPERIMENTS = 2_000


def statistics_stale(conn: Connection, added: int = 0) -> bool:
    """Whether the query planner lacks statistics, or has them for a far smaller store.

    Without ``ANALYZE`` statistics SQLite guesses how selective each index is, and for a query
    such as ``metrics.m0 > 0.5 and params.p3 = 'a'`` it can pick a plan five times slower.
    Stores of under ``STATS_MIN_EXPERIMENTS`` experiments do not need them. ``added`` is how
    many experiments were just imported: on PostgreSQL, whose autovacuum catches up on its
    own only a while after a bulk load, the statistics are stale when those are a fifth or
    more of all experiments.
    """
    count = size_estimate(conn)
    if count < STATS_MIN_EXPERIMENTS:
        return False
    if conn.dialect.name != "sqlite":
        return added * 5 >= count
    known = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if known is None:
        return True
    row = conn.exec_driver_sql(
        "SELECT stat FROM sqlite_stat1 WHERE tbl = 'experiments' AND idx IS NOT NULL LIMIT 1"
    ).first()
    return row is None or count > STATS_GROWTH * int(str(row[0]).split()[0])


def refresh_statistics(engine: Engine) -> None:
    """Give the query planner current statistics after a bulk load.

    SQLite: a sampled ``ANALYZE`` (about 0.3 s at 100,000 experiments), in a write
    transaction. PostgreSQL: ``VACUUM (ANALYZE)`` of the experiment tables, outside any
    transaction: besides the statistics it sets the visibility map, which index-only scans
    need (autovacuum would do both, but only some time after the load).
    """
    if engine.dialect.name == "sqlite":
        run_transaction(engine, _analyze_sqlite, write=True)
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) experiments, params, tags, metrics")


def _analyze_sqlite(conn: Connection) -> None:
    conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
    conn.exec_driver_sql("ANALYZE")
