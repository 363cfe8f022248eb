"""Reserving integer primary keys for multi-row inserts (bulk import).

A multi-row ``INSERT`` whose new keys must be known, in order, would need ``RETURNING`` with a
guaranteed row order, which SQLAlchemy can only give SQLite one row at a time. Reserving the
keys first lets the rows be inserted with their keys by one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, func, select, text


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
