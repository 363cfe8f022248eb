"""Count the statements a store sends to its database, whichever way they go to the driver.

SQLAlchemy's ``before_cursor_execute`` event misses the write path's statements, which go
straight to the driver's cursor (``mled.store.sql.driver``), so the counting is done by the
driver: SQLite's trace callback, and on PostgreSQL a psycopg cursor class that records what
it runs, and whether it was sent in a pipeline (without waiting for the server's answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import event

from mled.store.sql.store import SqlStore


class StatementLog(list[str]):
    """The first word of each statement, in order; ``waited`` holds those of the statements
    whose answer the client waited for (on SQLite, all of them)."""

    def __init__(self) -> None:
        super().__init__()
        self.waited: list[str] = []


@contextmanager
def counted_statements(store: SqlStore) -> Iterator[StatementLog]:
    """The first word of each statement run while the block runs (COMMIT left out).

    On SQLite an ``executemany`` of one row counts once, as it does on PostgreSQL.
    """
    seen = StatementLog()

    def note(sql: Any, pipelined: bool = False) -> None:
        word = str(sql).split()[0].upper()
        if word not in {"COMMIT", "ROLLBACK"}:
            seen.append(word)
            if not pipelined:
                seen.waited.append(word)

    class CountingCursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            note(query, self._in_pipeline())
            return super().execute(query, *args, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:
            rows = list(params_seq)
            for _ in rows:
                note(query, self._in_pipeline())
            super().executemany(query, rows, **kwargs)

        def _in_pipeline(self) -> bool:
            return self.connection.pgconn.pipeline_status != pq.PipelineStatus.OFF

    def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        if isinstance(dbapi_conn, psycopg.Connection):
            dbapi_conn.cursor_factory = CountingCursor
        else:
            dbapi_conn.set_trace_callback(note)

    def on_checkin(dbapi_conn: Any, _record: Any) -> None:
        if isinstance(dbapi_conn, psycopg.Connection):
            dbapi_conn.cursor_factory = psycopg.Cursor
        elif dbapi_conn is not None:
            dbapi_conn.set_trace_callback(None)

    event.listen(store.engine, "checkout", on_checkout)
    event.listen(store.engine, "checkin", on_checkin)
    try:
        yield seen
    finally:
        event.remove(store.engine, "checkout", on_checkout)
        event.remove(store.engine, "checkin", on_checkin)
