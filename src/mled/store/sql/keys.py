"""Bulk writes: reserved integer keys, driver-level multi-row inserts, planner statistics.

A multi-row ``INSERT`` whose new keys must be known, in order, would need ``RETURNING`` with a
guaranteed row order, which SQLAlchemy can only give SQLite one row at a time. Reserving the
keys first lets the rows be inserted with their keys by one ``executemany``. After a bulk load
the query planner needs fresh statistics (see :func:`refresh_statistics`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, text

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
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        stmt = text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return sorted(int(r[0]) for r in conn.execute(stmt, {"table": table.name, "n": count}))
    top = conn.execute(select(func.max(table.c.id))).scalar() or 0
    return list(range(int(top) + 1, int(top) + 1 + count))


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (tuples of ``columns``' values) with one driver-level ``executemany``.

    The values go to the driver as they are, with no per-value processing, so they must
    already be what the driver takes: ``int``, ``float``, ``str``, ``bytes`` or None.

    Example:
        >>> insert_rows(conn, tags, ["experiment_id", "key", "value", "value_prefix"],
        ...             [(1, "team", "nlp", "nlp")])  # doctest: +SKIP
    """
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    names = ", ".join(quote(c) for c in columns)
    marks = ", ".join(mark for _ in columns)
    conn.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})", rows)


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
    count = int(conn.execute(select(func.max(experiments.c.id))).scalar() or 0)
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
