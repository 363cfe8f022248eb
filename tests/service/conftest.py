"""Service-layer fixtures besides the shared ones of tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mled.service import Services
from mled.store.sql.store import SqlStore


@pytest.fixture
def sqlite_services(sqlite_uri: str) -> Iterator[Services]:
    """Services on SQLite only, for input checks that fail before any SQL runs."""
    store = SqlStore.open(sqlite_uri)
    yield Services.for_user(store, "alice")
    store.close()
