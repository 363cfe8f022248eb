"""Helpers of the REST API tests: a real uvicorn server, its users, problem assertions.

The server runs in a background thread of the test process (``uvicorn.Server.run``) on a free
port, on the test's store. Users, roles and tokens are set up through the service layer before
it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from live_server import LiveServer, free_port
from mled.auth.permissions import Role
from mled.service import Services
from mled.store.sql.store import SqlStore

__all__ = [
    "API",
    "PROBLEM",
    "ROLES",
    "Api",
    "LiveServer",
    "assert_problem",
    "free_port",
    "setup_users",
]

API = "/api/v1"
PROBLEM = "application/problem+json"
ROLES = [Role.ML_ENGINEER, Role.DATA_SCIENTIST, Role.PROJECT_MANAGER, Role.AUDITOR]
"""The per-project roles a test user holds in project A (``admin`` is global)."""


@dataclass
class Api:
    """A running server plus tokens of its users; ``client(who)`` talks as one of them."""

    url: str
    store_uri: str
    tokens: dict[str, str]
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, who: str | None = "admin", *, token: str | None = None) -> httpx.Client:
        """A client under /api/v1 with ``who``'s token (None: no Authorization header)."""
        token = token if token is not None else (self.tokens[who] if who else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        c = httpx.Client(base_url=self.url + API, headers=headers, timeout=30)
        self._clients.append(c)
        return c

    def close(self) -> None:
        for c in self._clients:
            c.close()


def setup_users(store_uri: str) -> dict[str, str]:
    """An admin, one member of project A per role, and an outsider; their tokens by name.

    Project A is ``alpha`` (every role user is a member), project B ``beta`` (no one but the
    admin). Users are named after their role.
    """
    store = SqlStore.open(store_uri)
    try:
        admin = Services.for_user(store, "admin")  # the store's first user: a global admin
        tokens = {"admin": admin.tokens.create("tests").token}
        admin.projects.create("alpha")
        admin.projects.create("beta")
        for role in ROLES:
            admin.users.create(role.value)
            admin.users.set_role("alpha", role.value, role.value)
            tokens[role.value] = Services.for_user(store, role.value).tokens.create("t").token
        admin.users.create("outsider")
        tokens["outsider"] = Services.for_user(store, "outsider").tokens.create("t").token
        return tokens
    finally:
        store.close()


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """Assert an RFC 9457 problem body with ``status`` (and ``code``); return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM, response.headers
    body = response.json()
    for name in ("type", "title", "status", "code", "detail", "hint"):
        assert name in body, f"problem body lacks {name!r}: {body}"
        assert body[name] not in ("", None), f"problem body has an empty {name!r}: {body}"
    assert body["status"] == status
    assert body["type"] == f"https://mled.dev/errors/{body['code']}"
    if code is not None:
        assert body["code"] == code, body
    return body
