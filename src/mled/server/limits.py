"""A pure ASGI middleware that refuses request bodies over the size limit with a 413."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ScopeTest = Callable[[Scope], bool]


class BodySizeLimit:
    """``exempt(scope)`` names requests whose body is streamed, never held (blob uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: ScopeTest | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt is not None and self.exempt(scope)):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {
                "type": "https://mled.dev/errors/payload_too_large",
                "title": "payload too large",
                "status": 413,
                "code": "payload_too_large",
                "detail": f"the request body exceeds {self.max_bytes} bytes",
                "hint": "Send smaller requests (flush metrics more often).",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(StarletteHTTPException):
    """An HTTPException, so that FastAPI's body parsing re-raises it as a 413 rather than
    wrapping it in a generic 400 "error parsing the body"."""

    def __init__(self) -> None:
        super().__init__(413, "the request body exceeds the size limit")
