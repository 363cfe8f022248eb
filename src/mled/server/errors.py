"""Every error leaves the server as an RFC 9457 problem+json body with a stable code."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mled.errors import MledError

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("mled.server")


def problem(
    status: int,
    code: str,
    detail: str,
    hint: str,
    details: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://mled.dev/errors/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        "hint": hint,
    }
    if details:
        body["details"] = details
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


async def _mled_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MledError)
    return problem(exc.status, exc.code, exc.message, exc.hint, exc.details)


def _literal_route_methods(request: Request) -> set[str]:
    """Methods the OpenAPI document lists for exactly this path (a path without parameters).

    The document is FastAPI's cached one, so this costs a dictionary lookup.
    """
    operations = request.app.openapi().get("paths", {}).get(request.url.path, {})
    return {method.upper() for method in operations if method != "parameters"}


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    literal = _literal_route_methods(request)
    if literal and request.method not in literal:
        # e.g. GET /experiments/search: POST-only, but GET /experiments/{id} matched the path
        return problem(
            405,
            "method_not_allowed",
            "Method Not Allowed",
            "See the API reference at /api/docs.",
            headers={"Allow": ", ".join(sorted(literal))},
        )
    fields = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            # pydantic locates a JSON syntax error by character offset, not by field
            fields.append({"field": "body", "message": f"invalid JSON: {err.get('msg', '')}"})
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        fields.append({"field": loc, "message": err.get("msg", "invalid")})
    names = ", ".join(f["field"] or "body" for f in fields[:5])
    return problem(
        422,
        "validation_error",
        f"the request is invalid: {names}",
        "Fix the named fields; the API reference is at /api/docs.",
        {"fields": fields},
    )


def allowed_methods(request: Request) -> str:
    """Every method any route of this path accepts (Starlette lists only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        exc.headers = {**(exc.headers or {}), "Allow": allowed_methods(request)}
    codes = {404: "route_not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    code = codes.get(exc.status_code, "http_error")
    hint = "See the API reference at /api/docs."
    if exc.status_code == 413:
        hint = "Send smaller requests (flush metrics more often)."
    return problem(exc.status_code, code, str(exc.detail), hint, headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem(
        500,
        "internal_error",
        "the server failed unexpectedly",
        "Retry; if it persists, send the server log to the administrator.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MledError, _mled_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
