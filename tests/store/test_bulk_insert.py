"""``insert_rows``, the multi-row insert of the write path, on SQLite and PostgreSQL (where
several rows go as one ``INSERT ... SELECT * FROM unnest(...)`` with an array per column):
every kind of column comes back exactly, constraint errors stay SQLAlchemy's, and a string
too long for its column is never cut."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.exc import IntegrityError

from mled.errors import InvalidInput
from mled.ids import new_id
from mled.store.sql.driver import pipelined
from mled.store.sql.keys import insert_rows
from mled.store.sql.store import SqlStore

COLUMNS = ("id", "count", "score", "code", "body", "blob")


@pytest.fixture
def scratch(store: SqlStore) -> Iterator[Table]:
    """A table with one column of every type the store's tables use, dropped afterwards."""
    table = Table(
        f"scratch_{new_id()[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("count", BigInteger, nullable=True),
        Column("score", Double, nullable=True),
        Column("code", String(8), nullable=True),
        Column("body", Text, nullable=True),
        Column("blob", LargeBinary, nullable=True),
    )
    table.create(store.engine)
    yield table
    table.drop(store.engine)


def _stored(store: SqlStore, table: Table) -> list[tuple[object, ...]]:
    def run(conn: Connection) -> list[tuple[object, ...]]:
        rows = conn.execute(select(table).order_by(table.c.id))
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    return store.read(run)


def test_many_rows_of_every_column_type_come_back_exactly(store: SqlStore, scratch: Table) -> None:
    rows = [
        (1, 2**62, 0.1, "abc", "line\nnext ✓", b"\x00\xff"),
        (2, None, None, None, None, None),
        (3, -(2**63), 3, "", "", b""),  # an int in the float column, stored as 3.0
        (4, 0, -0.0, "émoji😀", "x" * 70_000, bytes(range(256))),
        (5, 7, math.inf, "'; --", "a'b\"c\\d", b"\\x00"),
    ]
    store.write(lambda conn: insert_rows(conn, scratch, COLUMNS, rows))
    assert _stored(store, scratch) == rows


def test_a_column_of_only_nulls_is_stored(store: SqlStore, scratch: Table) -> None:
    rows = [(i, None, None, None, None, None) for i in range(1, 4)]
    store.write(lambda conn: insert_rows(conn, scratch, COLUMNS, rows))
    assert _stored(store, scratch) == rows


@pytest.mark.parametrize("pipeline", [False, True], ids=["waited", "pipelined"])
def test_a_duplicate_key_is_sqlalchemys_integrity_error(
    store: SqlStore, scratch: Table, pipeline: bool
) -> None:
    rows = [(1, 1, 1.0, "a", "a", b"a"), (1, 2, 2.0, "b", "b", b"b")]
    with pytest.raises(IntegrityError):
        store.write(lambda conn: _insert(conn, scratch, rows, pipeline))
    assert _stored(store, scratch) == []


@pytest.mark.parametrize("count", [1, 2])
@pytest.mark.parametrize("pipeline", [False, True], ids=["waited", "pipelined"])
def test_a_too_long_string_is_never_cut(
    store: SqlStore, scratch: Table, pipeline: bool, count: int
) -> None:
    """PostgreSQL refuses it (the store's InvalidInput); SQLite, which ignores declared
    lengths, keeps it whole. One row and several take different statements on PostgreSQL."""
    rows = [(1, 1, 1.0, "ok", "", b""), (2, 1, 1.0, "nine char", "", b"")][-count:]

    def write() -> None:
        store.write(lambda conn: _insert(conn, scratch, rows, pipeline))

    if store.engine.dialect.name == "postgresql":
        with pytest.raises(InvalidInput, match="too long"):
            write()
        assert _stored(store, scratch) == []
    else:
        write()
        assert [r[3] for r in _stored(store, scratch)] == [r[3] for r in rows]


def _insert(conn: Connection, table: Table, rows: list[tuple[Any, ...]], pipeline: bool) -> None:
    if not pipeline:
        insert_rows(conn, table, COLUMNS, rows)
        return
    with pipelined(conn):
        insert_rows(conn, table, COLUMNS, rows)


# No NUL or lone surrogates: neither database's text type can hold them (the service refuses
# them before any insert).
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_values = st.tuples(
    st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.none() | st.floats(allow_nan=False) | st.integers(min_value=-(2**53), max_value=2**53),
    st.none() | st.text(_CHARS, max_size=8),
    st.none() | st.text(_CHARS),
    st.none() | st.binary(),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(_values, min_size=1, max_size=30))
def test_any_rows_round_trip(store: SqlStore, scratch: Table, values: list[tuple]) -> None:  # type: ignore[type-arg]
    rows = [(i, *v) for i, v in enumerate(values, start=1)]

    def run(conn: Connection) -> None:
        conn.execute(scratch.delete())
        insert_rows(conn, scratch, COLUMNS, rows)

    store.write(run)
    expected = [(r[0], r[1], None if r[2] is None else float(r[2]), *r[3:]) for r in rows]
    assert _stored(store, scratch) == expected
