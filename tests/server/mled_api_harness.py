"""Helpers of the REST API tests: a real uvicorn server, its users, problem assertions.

The server runs in a background thread of the test process (``uvicorn.Server.run``) on a free
port, on the test's store. Users, roles and tokens are set up through the service layer before
it starts.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import httpx
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mled.auth.permissions import Role
from mled.server.app import create_app
from mled.server.settings import ServerSettings
from mled.service import Services
from mled.store.sql.store import SqlStore

API = "/api/v1"
PROBLEM = "application/problem+json"
ROLES = [Role.ML_ENGINEER, Role.DATA_SCIENTIST, Role.PROJECT_MANAGER, Role.AUDITOR]
"""The per-project roles a test user holds in project A (``admin`` is global)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RequestLog:
    """ASGI wrapper recording (method, path, status) of every answered HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.entries: list[tuple[str, str, int]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.entries.append((scope["method"], scope["path"], int(message["status"])))
            await send(message)

        await self.app(scope, receive, logged)

    def server_errors(self) -> list[tuple[str, str, int]]:
        return [e for e in self.entries if e[2] >= 500]


class LiveServer:
    """``create_app(settings)`` served by uvicorn in a thread; ``log`` records every request.

    Example:
        >>> with LiveServer(ServerSettings(store_uri=uri)) as server:  # doctest: +SKIP
        ...     httpx.get(server.url + "/api/v1/health").json()["status"]
        'ok'
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = RequestLog(create_app(settings))
        config = uvicorn.Config(
            self.log,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ws="none",
            lifespan="on",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mled-test-server")

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(20)


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
