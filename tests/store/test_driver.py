"""Statements sent straight to the driver's cursor (``mled.store.sql.driver``), on SQLite
and PostgreSQL: rows, parameters, many rows, and errors raised as SQLAlchemy's own."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from mled.store.sql.driver import execute, execute_many, fetch_rows, pipelined
from mled.store.sql.engine import _is_retryable
from mled.store.sql.keys import placeholder
from mled.store.sql.store import SqlStore


def _marks(conn: Connection, n: int) -> str:
    return ", ".join(placeholder(conn.dialect) for _ in range(n))


def _users_insert(conn: Connection) -> str:
    columns = "username, is_admin, disabled, created_at"
    return f"INSERT INTO users ({columns}) VALUES ({_marks(conn, 4)})"


def _insert_users(conn: Connection, names: list[str]) -> None:
    execute_many(conn, _users_insert(conn), [(n, False, False, 1.0) for n in names])


def _usernames(conn: Connection) -> list[str]:
    return [r[0] for r in fetch_rows(conn, "SELECT username FROM users ORDER BY username")]


def test_rows_come_back_as_tuples_in_the_transaction(store: SqlStore) -> None:
    def run(conn: Connection) -> list[str]:
        _insert_users(conn, ["bob", "alice", "carol"])
        return _usernames(conn)

    assert store.write(run) == ["alice", "bob", "carol"]
    assert store.read(_usernames) == ["alice", "bob", "carol"]


def test_a_statement_without_rows_returns_none_of_them(store: SqlStore) -> None:
    def run(conn: Connection) -> list[tuple[object, ...]]:
        _insert_users(conn, ["alice"])
        sql = f"UPDATE users SET is_admin = {placeholder(conn.dialect)}"
        return fetch_rows(conn, sql, (True,))

    assert store.write(run) == []


def test_values_are_parameters_never_sql(store: SqlStore) -> None:
    hostile = "x'); DROP TABLE users; --"

    def run(conn: Connection) -> list[str]:
        _insert_users(conn, [hostile])
        return _usernames(conn)

    assert store.write(run) == [hostile]
    assert store.read(_usernames) == [hostile]


def test_a_rolled_back_transaction_keeps_none_of_its_driver_writes(store: SqlStore) -> None:
    def run(conn: Connection) -> None:
        _insert_users(conn, ["alice"])
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        store.write(run)
    assert store.read(_usernames) == []


def test_a_constraint_violation_is_sqlalchemys_integrity_error(store: SqlStore) -> None:
    store.write(lambda conn: _insert_users(conn, ["alice"]))
    with pytest.raises(IntegrityError) as info:
        store.write(lambda conn: _insert_users(conn, ["bob", "alice"]))
    assert info.value.orig is not None
    assert store.read(_usernames) == ["alice"]  # bob went with the failed transaction


def test_other_driver_errors_are_sqlalchemy_errors_naming_the_statement(
    store: SqlStore,
) -> None:
    with store.engine.connect() as conn, pytest.raises(DBAPIError) as info:
        fetch_rows(conn, "SELECT missing FROM no_such_table")
    assert "no_such_table" in str(info.value)
    assert info.value.statement == "SELECT missing FROM no_such_table"


def test_a_locked_sqlite_database_is_a_retryable_operational_error(tmp_path: Path) -> None:
    """run_transaction retries lock conflicts only if they arrive as OperationalError."""
    store = SqlStore.open(f"sqlite:///{tmp_path / 'x.db'}")
    holder = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout = 0")
            conn.commit()
            with pytest.raises(OperationalError) as info, conn.begin():
                _insert_users(conn, ["alice"])
        assert _is_retryable(info.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()


def test_pipelined_statements_are_part_of_the_transaction(store: SqlStore) -> None:
    def run(conn: Connection) -> list[str]:
        with pipelined(conn):
            _execute_inserts(conn, ["bob", "alice"])
        _execute_inserts(conn, ["carol"])  # and after the pipeline, as before it
        return _usernames(conn)

    assert store.write(run) == ["alice", "bob", "carol"]
    assert store.read(_usernames) == ["alice", "bob", "carol"]


def test_an_error_in_a_pipeline_is_sqlalchemys_and_keeps_nothing(store: SqlStore) -> None:
    """On PostgreSQL the failing insert's error arrives only as the block ends; either way
    it is the IntegrityError callers catch, and the transaction keeps none of its writes."""
    store.write(lambda conn: _execute_inserts(conn, ["alice"]))

    def run(conn: Connection) -> None:
        with pipelined(conn):
            _execute_inserts(conn, ["bob", "alice", "carol"])

    with pytest.raises(IntegrityError) as info:
        store.write(run)
    assert info.value.orig is not None
    assert store.read(_usernames) == ["alice"]


def _execute_inserts(conn: Connection, names: list[str]) -> None:
    for name in names:
        execute(conn, _users_insert(conn), (name, False, False, 1.0))
