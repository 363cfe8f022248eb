"""Precomputed parameterized SQL sent straight to the database driver's cursor.

Creating one experiment runs about a dozen statements; through ``Connection.exec_driver_sql``
each one also builds SQLAlchemy's execution context and result object, which cost more than
SQLite spends running the statement. The write path's fixed statements (inserts, the audit
head, the project lookup, key reservation) go through here instead. Driver errors are raised
as SQLAlchemy's own exceptions, so ``run_transaction`` retries lock conflicts and callers
catch ``IntegrityError`` exactly as for any other statement.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError


def fetch_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement with positional ``params`` in ``conn``'s transaction; its rows.

    ``sql`` must use the driver's own placeholder (:func:`mled.store.sql.keys.placeholder`)
    and hold only names the code wrote: every value goes in ``params``.

    Example:
        >>> fetch_rows(conn, "SELECT id FROM projects WHERE name = ?", ("vision",))
        ... # doctest: +SKIP
        [(1,)]
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall()) if cursor.description is not None else []
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, sql, params, err, many=False) from err
    finally:
        cursor.close()


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> None:
    """Run one statement that returns no rows (an insert, an update) in ``conn``'s transaction.

    Inside :func:`pipelined` on PostgreSQL the statement is only queued: its errors are
    raised when the pipeline ends.

    Example:
        >>> execute(conn, "UPDATE projects SET description = ? WHERE id = ?", ("cv", 1))
        ... # doctest: +SKIP
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, sql, params, err, many=False) from err
    finally:
        cursor.close()


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Send the statements run by :func:`execute` in this block without waiting for each
    one's answer (PostgreSQL's pipeline mode); on SQLite, which runs in-process, a no-op.

    Creating one experiment on PostgreSQL runs about a dozen statements, and each one's
    round trip to the server costs more than the server spends on it. Only statements whose
    results are not needed may run here: an error of any of them is raised as the block
    ends, and the transaction is then aborted.

    Example:
        >>> with pipelined(conn):  # doctest: +SKIP
        ...     execute(conn, "INSERT INTO tags (experiment_id, key) VALUES (%s, %s)", (1, "a"))
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    driver_conn = conn.connection.driver_connection
    try:
        with driver_conn.pipeline():  # type: ignore[union-attr]
            yield
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, "(pipelined statements)", (), err, many=True) from err


def execute_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run one statement once per row of ``rows`` (one driver ``executemany``).

    Example:
        >>> execute_many(conn, "INSERT INTO tags (experiment_id, key) VALUES (?, ?)",
        ...              [(1, "team"), (2, "team")])  # doctest: +SKIP
    """
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    except conn.dialect.loaded_dbapi.Error as err:
        raise _wrapped(conn, sql, rows, err, many=True) from err
    finally:
        cursor.close()


def _wrapped(conn: Connection, sql: str, params: Any, err: Exception, *, many: bool) -> Exception:
    """The SQLAlchemy exception (``IntegrityError``, ``OperationalError``...) for ``err``."""
    dbapi = conn.dialect.loaded_dbapi
    return DBAPIError.instance(sql, params, err, dbapi.Error, dialect=conn.dialect, ismulti=many)
