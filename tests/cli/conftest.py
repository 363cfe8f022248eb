"""Running ``mled`` in-process against a fresh store of each backend.

``mled(...)`` invokes the command line with the store selected through MLED_TRACKING_URI
(as a user's shell would), MLED_HOME in a temporary directory, and ``alice`` (the store's
admin) as the acting user. Output is not a terminal, so it carries no colors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mled_runner import Mled, client_for

from mled.sdk.client import Client


@pytest.fixture
def mled(store_uri: str, tmp_path: Path) -> Mled:
    """The command line on a fresh store of each backend (SQLite and PostgreSQL)."""
    return Mled(store_uri, tmp_path / "home")


@pytest.fixture
def mled_sqlite(sqlite_uri: str, tmp_path: Path) -> Mled:
    """The command line on a fresh SQLite store (for tests that damage the store)."""
    return Mled(sqlite_uri, tmp_path / "home")


@pytest.fixture
def seeded(mled: Mled) -> Iterator[Client]:
    """A client on ``mled``'s store, closed after the test."""
    client = client_for(mled.store_uri, mled.home)
    yield client
    client.close()
