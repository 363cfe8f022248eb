"""Shared fixtures: a fresh store per test on every backend (SQLite file, PostgreSQL database).

PostgreSQL: one database is created per test session on the server at MLED_TEST_PG (default
127.0.0.1:5432, trust auth, maintenance database ``test``) and dropped at the end; every test
starts from emptied tables. Without a reachable server the PostgreSQL leg is skipped with a loud
reason, unless MLED_REQUIRE_POSTGRES=1 (set by CI), where it fails instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from live_server import LiveServer
from mled.sdk.client import Client
from mled.server.settings import ServerSettings
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import metadata

PG_SERVER = os.environ.get("MLED_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
PG_MAINTENANCE_DB = os.environ.get("MLED_TEST_PG_DB", "test")
BACKENDS = ["sqlite", "postgres"]
TRANSPORTS = ["local", "http"]


def _pg_admin_url() -> str:
    return f"{PG_SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{PG_MAINTENANCE_DB}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database for this test session; its URI is yielded."""
    name = f"mled_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as err:
        reason = f"PostgreSQL not reachable at {PG_SERVER}: {err}"
        if os.environ.get("MLED_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"MLED_REQUIRE_POSTGRES=1 but {reason}")
        print(f"\n*** SKIPPING POSTGRESQL TESTS: {reason} ***\n")
        pytest.skip(reason)
    uri = f"{PG_SERVER}/{name}"
    SqlStore.open(uri).close()  # migrate once
    yield uri
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite store copied for each test (migrating takes ~100 ms)."""
    path = tmp_path_factory.mktemp("template") / "mled.db"
    SqlStore.open(f"sqlite:///{path}").close()
    return path


def _empty_postgres(uri: str) -> None:
    # DELETE rather than TRUNCATE: on tables this small it is 10-20x faster (TRUNCATE creates
    # and syncs new files for every table), and emptying was most of a PostgreSQL test's time.
    engine = create_engine(uri.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name != "audit_head":
                conn.execute(table.delete())
        sequences = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).scalars()
        for sequence in list(sequences):
            conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h"), {"h": "0" * 64})
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URI of an empty, migrated store; parametrized over SQLite and PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "mled.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    uri: str = request.getfixturevalue("pg_database")
    _empty_postgres(uri)
    return uri


@pytest.fixture
def sqlite_uri(tmp_path: Path, sqlite_template: Path) -> str:
    """An empty SQLite store only (for multi-process tests of the embedded mode)."""
    path = tmp_path / "mled.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:
    s = SqlStore.open(store_uri)
    yield s
    s.close()


@pytest.fixture
def services(store: SqlStore) -> Services:
    """Services acting as ``alice``, the store's first user and so its admin."""
    return Services.for_user(store, "alice")


@pytest.fixture
def settings(tmp_path: Path, store_uri: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        tracking_uri=store_uri,
        username="alice",
        flush_interval=60.0,
        capture_git_diff=False,
        handle_signals=False,
    )


@pytest.fixture
def local_client(settings: Settings) -> Iterator[Client]:
    """An embedded SDK client on a fresh store of each backend."""
    c = Client(settings=settings)
    yield c
    c.close()


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest, settings: Settings, store_uri: str) -> Iterator[Client]:
    """An SDK client on a fresh store of each backend, embedded ("local") or through a real
    server ("http", uvicorn in a thread) acting as ``alice``, the store's first user."""
    if request.param == "local":
        yield request.getfixturevalue("local_client")
        return
    store = SqlStore.open(store_uri)
    try:
        token = Services.for_user(store, "alice").tokens.create("tests").token
    finally:
        store.close()
    with LiveServer(ServerSettings(store_uri=store_uri)) as server:
        c = Client(
            settings=replace(
                settings, tracking_uri=server.url, token=token, http_retries=1, spool=False
            )
        )
        yield c
        c.close()
