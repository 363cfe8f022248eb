"""``SqlStore``: one database (SQLite or PostgreSQL) and the transactions run on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from mled.errors import StoreUnavailable
from mled.store.sql.engine import create_store_engine, run_transaction
from mled.store.sql.schema import ensure_schema, redact

T = TypeVar("T")


class SqlStore:
    """The metadata store. The service layer runs each of its calls as one transaction here.

    Example:
        >>> store = SqlStore.open("sqlite:////tmp/mled-doctest.db")  # doctest: +SKIP
        >>> store.read(lambda conn: conn.exec_driver_sql("select 1").scalar())  # doctest: +SKIP
        1
    """

    def __init__(self, uri: str, engine: Engine) -> None:
        self.uri = uri
        self.engine = engine

    @classmethod
    def open(cls, uri: str, *, auto_create: bool = True) -> SqlStore:
        """Open ``uri``, creating the schema of an empty database, refusing an outdated one."""
        engine = create_store_engine(uri)
        try:
            ensure_schema(engine, uri, auto_create=auto_create)
        except OperationalError as err:  # the server or the file cannot be reached at all
            engine.dispose()
            raise StoreUnavailable(f"cannot open the store at {redact(uri)}: {err.orig}") from err
        except Exception:
            engine.dispose()
            raise
        return cls(uri, engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a write transaction (exclusive on SQLite), retrying lock conflicts."""
        return run_transaction(self.engine, fn, write=True)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a read transaction (a consistent snapshot)."""
        return run_transaction(self.engine, fn, write=False)

    def close(self) -> None:
        self.engine.dispose()
