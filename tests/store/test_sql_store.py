"""The SQL store on SQLite and PostgreSQL: schema on open, transactions, locking, retries."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from mled.errors import InvalidTrackingUri, StoreUnavailable
from mled.migrations import HEAD_REVISION
from mled.store.sql import engine as engine_module
from mled.store.sql.engine import run_transaction, sql_url
from mled.store.sql.schema import current_revision, redact
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import projects, users


def _add_user(name: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        conn.execute(insert(users).values(username=name, is_admin=False, created_at=0.0))

    return run


def _usernames(conn: Connection) -> list[str]:
    return list(conn.execute(select(users.c.username).order_by(users.c.username)).scalars())


def test_open_creates_the_schema_at_head(store: SqlStore) -> None:
    assert store.read(current_revision) == HEAD_REVISION
    assert store.dialect in {"sqlite", "postgresql"}


def test_reopening_a_store_keeps_its_data(store_uri: str) -> None:
    first = SqlStore.open(store_uri)
    first.write(_add_user("alice"))
    first.close()
    second = SqlStore.open(store_uri)
    try:
        assert second.read(_usernames) == ["alice"]
    finally:
        second.close()


def test_write_commits_and_returns_the_result(store: SqlStore) -> None:
    def run(conn: Connection) -> int:
        _add_user("alice")(conn)
        return 42

    assert store.write(run) == 42
    assert store.read(_usernames) == ["alice"]


def test_a_failing_write_rolls_back_everything(store: SqlStore) -> None:
    def run(conn: Connection) -> None:
        _add_user("alice")(conn)
        _add_user("bob")(conn)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        store.write(run)
    assert store.read(_usernames) == []


def test_concurrent_writers_are_serialized_without_errors(store: SqlStore) -> None:
    """Read-modify-write transactions from many threads lose no update."""
    store.write(_add_user("counter"))
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def bump(conn: Connection) -> None:
        created = conn.execute(
            select(users.c.created_at).where(users.c.username == "counter").with_for_update()
        ).scalar_one()
        conn.execute(
            users.update().where(users.c.username == "counter").values(created_at=created + 1)
        )

    def work() -> None:
        try:
            start.wait()
            for _ in range(15):
                store.write(bump)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = store.read(
        lambda conn: conn.execute(
            select(users.c.created_at).where(users.c.username == "counter")
        ).scalar_one()
    )
    assert total == 90


def test_foreign_keys_are_enforced(store: SqlStore) -> None:
    with pytest.raises(IntegrityError):
        store.write(
            lambda conn: conn.execute(
                insert(projects).values(
                    public_id="x", name="p", description="", created_at=0.0, created_by=999
                )
            )
        )


# --- SQLite specifics ----------------------------------------------------------------------


def test_sqlite_runs_in_wal_mode_with_full_sync_and_foreign_keys(sqlite_uri: str) -> None:
    store = SqlStore.open(sqlite_uri)
    try:
        with store.engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }
    finally:
        store.close()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": engine_module.SQLITE_BUSY_TIMEOUT_MS,
    }


def test_sqlite_write_waits_for_another_process_lock(sqlite_uri: str) -> None:
    """A write queued behind a foreign write lock waits for it instead of failing."""
    path = sqlite_uri.removeprefix("sqlite:///")
    store = SqlStore.open(sqlite_uri)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute(
            "INSERT INTO users (username, is_admin, disabled, created_at) "
            "VALUES ('holder', 0, 0, 0)"
        )
        release = threading.Timer(0.5, other.execute, args=("COMMIT",))
        release.start()
        began = time.monotonic()
        store.write(_add_user("waiter"))
        waited = time.monotonic() - began
        release.join()
    finally:
        other.close()
        store.close()
    assert waited >= 0.3
    reopened = SqlStore.open(sqlite_uri)
    try:
        assert reopened.read(_usernames) == ["holder", "waiter"]
    finally:
        reopened.close()


def test_opening_a_new_store_waits_for_a_writer_before_switching_to_wal(tmp_path: Path) -> None:
    """SQLite refuses the switch to WAL at once while another connection writes; open waits."""
    path = tmp_path / "new.db"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("CREATE TABLE t (x)")  # a fresh file, still in rollback-journal mode
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t VALUES (1)")
        release = threading.Timer(0.3, other.execute, args=("COMMIT",))
        release.start()
        began = time.monotonic()
        engine = engine_module.create_store_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as conn:
                mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        finally:
            engine.dispose()
        waited = time.monotonic() - began
        release.join()
    finally:
        other.close()
    assert mode == "wal"
    assert waited >= 0.2


# --- retries -------------------------------------------------------------------------------


def _locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shortest back-off (jitter 0): 50 ms, then 100 ms ..."""
    monkeypatch.setattr(engine_module.random, "random", lambda: 0.0)


@pytest.mark.usefixtures("fast_retries")
def test_lock_errors_are_retried_until_the_transaction_succeeds(store: SqlStore) -> None:
    attempts: list[int] = []

    def run(conn: Connection) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise _locked()
        _add_user("alice")(conn)
        return "done"

    assert run_transaction(store.engine, run, write=True) == "done"
    assert len(attempts) == 3
    assert store.read(_usernames) == ["alice"]


@pytest.mark.usefixtures("fast_retries")
def test_a_lock_that_never_clears_becomes_store_unavailable(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "MAX_ATTEMPTS", 2)

    def run(conn: Connection) -> None:
        raise _locked()

    with pytest.raises(StoreUnavailable, match="stayed locked after 2 attempts") as info:
        run_transaction(store.engine, run, write=True)
    assert info.value.status == 503
    assert "retry later" in info.value.hint


def test_other_operational_errors_are_not_retried(store: SqlStore) -> None:
    attempts: list[int] = []

    def run(conn: Connection) -> None:
        attempts.append(1)
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("disk I/O error"))

    with pytest.raises(StoreUnavailable, match="disk I/O error") as info:
        run_transaction(store.engine, run, write=False)
    assert attempts == [1]
    assert info.value.code == "store_unavailable"


def test_an_unreachable_database_is_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable) as info:
        SqlStore.open("postgresql://nobody:secret@127.0.0.1:1/none")
    assert info.value.status == 503
    assert "postgresql://nobody:***@127.0.0.1:1/none" in info.value.message
    assert "secret" not in str(info.value)
    assert "database server is running" in info.value.hint


# --- URIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("postgresql://me@db/mled", "postgresql+psycopg://me@db/mled"),
        ("postgres://me@db/mled", "postgresql+psycopg://me@db/mled"),
        ("postgresql+psycopg://me@db/mled", "postgresql+psycopg://me@db/mled"),
        ("sqlite:////data/mled.db", "sqlite:////data/mled.db"),
    ],
)
def test_sql_url(uri: str, url: str) -> None:
    assert sql_url(uri) == url


@pytest.mark.parametrize("uri", ["mysql://me@db/x", "http://host", "/plain/path.db"])
def test_unsupported_uris_are_refused(uri: str) -> None:
    with pytest.raises(InvalidTrackingUri) as info:
        sql_url(uri)
    assert "sqlite:///" in info.value.hint


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://me:secret@db/x", "postgresql://me:***@db/x"),
        ("postgresql://me@db/x", "postgresql://me@db/x"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_passwords_are_redacted(uri: str, shown: str) -> None:
    assert redact(uri) == shown


def test_sqlite_engine_creates_the_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "mled.db"
    SqlStore.open(f"sqlite:///{path}").close()
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(users)).scalar() == 0
        assert (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD_REVISION
        )
    engine.dispose()
