"""Fixtures of the REST API tests: a real uvicorn server on each backend, and httpx clients.

The server runs on the test's fresh store (SQLite and PostgreSQL through ``store_uri``), with
an admin, one member of project ``alpha`` per role and an outsider (see ``setup_users``).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mled_api_harness import Api, LiveServer, setup_users

from mled.server.settings import ServerSettings


@pytest.fixture
def api(store_uri: str) -> Iterator[Api]:
    """A live server on a fresh store of each backend, with the users of ``setup_users``."""
    tokens = setup_users(store_uri)
    with LiveServer(ServerSettings(store_uri=store_uri)) as server:
        a = Api(url=server.url, store_uri=store_uri, tokens=tokens)
        yield a
        a.close()


@pytest.fixture
def admin(api: Api) -> httpx.Client:
    return api.client("admin")
