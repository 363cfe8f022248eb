"""A real MLED server for tests: uvicorn in a background thread of the test process, on a
free port, serving ``create_app(settings)``; ``log`` records every answered request.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mled.server.app import create_app
from mled.server.settings import ServerSettings


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
