"""Engine creation per dialect, and transactions with the right locking and retries.

SQLite: WAL, ``synchronous=FULL`` (a committed transaction survives power loss, not only a
crash), foreign keys on, a 64 MiB page cache, a long busy timeout (also waited out when a new
store switches to WAL), and ``BEGIN IMMEDIATE`` for write transactions so that concurrent
writers queue for the lock instead of failing with "database is locked" when a read
transaction tries to upgrade. PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from mled.errors import InvalidInput, InvalidTrackingUri, StoreUnavailable
from mled.store.sql.driver import execute

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 60_000
SQLITE_CACHE_KIB = 65_536
"""Upper bound of a SQLite connection's page cache (allocated as pages are read).

SQLite's default is 2 MiB. A store of 100,000 experiments has indexes of over 100 MB that a
bulk import inserts into at random places; with the default cache every insert re-reads
pages, and an import ran a quarter slower."""
WRITE_OPTION = "mled_write"
MAX_ATTEMPTS = 8


def sql_url(uri: str) -> str:
    """Map a user-facing store URI to a SQLAlchemy URL (``postgresql://`` uses psycopg 3).

    Example:
        >>> sql_url("postgresql://me@db/mled")
        'postgresql+psycopg://me@db/mled'
    """
    if uri.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + uri.split("://", 1)[1]
    if uri.startswith(("sqlite:///", "postgresql+psycopg://")):
        return uri
    raise InvalidTrackingUri(f"{uri!r} is not a database URI MLED can open")


def create_store_engine(uri: str) -> Engine:
    """Create an engine for ``uri`` configured for MLED's durability and concurrency rules."""
    url = make_url(sql_url(uri))
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url.database or "")
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(path: str) -> Engine:
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cur)
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        # Straight to the driver: every transaction starts here, and exec_driver_sql's
        # execution context and result cost more than SQLite spends on the statement.
        execute(conn, "BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _enable_wal(cur: Any) -> None:
    """Switch the database to WAL, waiting out other connections doing the same.

    Every connection of a new store asks for WAL as it opens. Switching needs an exclusive
    lock, and SQLite answers "database is locked" at once, without its busy handler, when
    several connections holding a shared lock all ask: waiting could deadlock them. So the
    switch is retried here, for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
        time.sleep(0.005 + 0.02 * random.random())


def _is_retryable(err: DBAPIError) -> bool:
    text = str(err.orig).lower() if err.orig is not None else str(err).lower()
    sqlstate = getattr(err.orig, "sqlstate", None)
    return (
        "database is locked" in text
        or "database is busy" in text
        or sqlstate in {"40001", "40P01"}  # serialization failure, deadlock detected
    )


def run_transaction(engine: Engine, fn: Callable[[Connection], T], *, write: bool) -> T:
    """Run ``fn`` in one transaction, retrying lock timeouts and serialization failures.

    ``fn`` may be called more than once, so it must not have effects outside the database.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with engine.connect() as conn:
                if write:
                    conn = conn.execution_options(**{WRITE_OPTION: True})
                elif conn.dialect.name == "postgresql":
                    # One snapshot for the whole read, so a multi-statement read (verifying
                    # the audit chain while others write) never sees a half-applied change.
                    conn = conn.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with conn.begin():
                    return fn(conn)
        except OperationalError as err:
            if not _is_retryable(err):
                raise StoreUnavailable(
                    f"the database could not be used: {err.orig}",
                ) from err
            if attempt == MAX_ATTEMPTS:
                raise StoreUnavailable(
                    f"the database stayed locked after {MAX_ATTEMPTS} attempts",
                    hint="Another process holds a long write transaction; retry later.",
                ) from err
        except DataError as err:
            # Only user-supplied values reach the database, so a value it cannot hold (out of
            # range, invalid encoding) is the caller's input error, not a server fault.
            raise InvalidInput(
                f"a value cannot be stored: {str(err.orig).splitlines()[0]}",
                hint="Check the sizes and ranges of the values sent.",
            ) from err
        except UnicodeEncodeError as err:
            # Text reaches the database (and the audit hash) as UTF-8; a lone surrogate, which
            # Python makes of undecodable bytes, has no UTF-8 form. Only user text holds them.
            raise InvalidInput(
                f"a text value is not valid Unicode: {_surrogates_in(err)}",
                hint="Remove the lone surrogates (U+D800-U+DFFF) from the text, e.g. decode "
                "bytes with errors='replace' rather than 'surrogateescape'.",
            ) from err
        except DBAPIError as err:
            if not _is_retryable(err) or attempt == MAX_ATTEMPTS:
                raise
        time.sleep(min(0.05 * 2**attempt, 2.0) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def _surrogates_in(err: UnicodeEncodeError) -> str:
    """Where the unencodable characters of ``err`` are, with a little of the text before them."""
    bad = err.object[err.start : err.end]
    before = err.object[max(0, err.start - 20) : err.start]
    return f"it holds {bad!r} after {before!r}" if before else f"it starts with {bad!r}"
