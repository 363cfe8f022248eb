"""Route inventory: every route declares its permission, and only two are public.

Deny by default: a route without ``openapi_extra=permission(...)`` fails here, and every
non-public route must refuse a request without a valid token with a 401 problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from mled_api_harness import API, Api, assert_problem

from mled.auth.permissions import Action
from mled.server.app import create_app
from mled.server.deps import AUTHENTICATED, PUBLIC
from mled.server.settings import ServerSettings

ALLOWED = {PUBLIC, AUTHENTICATED, *(a.value for a in Action)}
PUBLIC_PATHS = {f"{API}/health", f"{API}/auth/login"}
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
SAMPLE_PARAMS = {"token_id": "1", "experiment_id": "0190c0de", "username": "admin"}


@dataclass(frozen=True)
class Mounted:
    """An API route and the full path it answers on."""

    route: APIRoute
    path: str


def api_routes() -> list[Mounted]:
    """Every API route of a freshly built app (the store is not opened)."""
    app = create_app(ServerSettings(store_uri="sqlite:////nonexistent/mled.db"))
    return [
        Mounted(c.original_route, c.path or "")
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute)
    ]


def concrete_path(path: str) -> str:
    """``path`` with a plausible value for every parameter, without the /api/v1 prefix."""
    return _PARAM.sub(lambda m: SAMPLE_PARAMS.get(m.group(1), "x"), path).removeprefix(API)


def operations() -> list[tuple[str, str]]:
    """(method, full path) of every operation."""
    return [(m, r.path) for r in api_routes() for m in sorted(r.route.methods or ())]


def test_every_route_declares_a_known_permission() -> None:
    routes = api_routes()
    assert len(routes) >= 25
    for r in routes:
        declared = (r.route.openapi_extra or {}).get("x-mled-permission")
        assert declared in ALLOWED, (
            f"{sorted(r.route.methods or ())} {r.path} declares {declared!r}"
        )


def test_only_health_and_login_are_public() -> None:
    public = {
        r.path
        for r in api_routes()
        if (r.route.openapi_extra or {}).get("x-mled-permission") == PUBLIC
    }
    assert public == PUBLIC_PATHS


def test_the_openapi_document_names_the_permission_of_every_operation() -> None:
    app = create_app(ServerSettings(store_uri="sqlite:////nonexistent/mled.db"))
    for path, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            assert operation.get("x-mled-permission") in ALLOWED, f"{method} {path}"
            documented = set(operation["responses"])
            if path not in PUBLIC_PATHS:
                assert "401" in documented, f"{method} {path} does not document its 401"


@pytest.mark.parametrize("token", [None, "mled_forged-token"], ids=["no-token", "forged"])
def test_every_protected_route_refuses_a_request_without_a_valid_token(
    api: Api, token: str | None
) -> None:
    client = api.client(None, token=token)
    protected = [op for op in operations() if op[1] not in PUBLIC_PATHS]
    assert len(protected) >= 25
    for method, path in protected:
        response = client.request(method, concrete_path(path))
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer", (method, path)


def test_public_routes_answer_without_a_token(api: Api) -> None:
    anonymous = api.client(None)
    assert anonymous.get("/health").json()["status"] == "ok"
    password = {"password": "a long passphrase"}
    assert api.client("admin").put("/users/auditor/password", json=password).status_code == 204
    answer = anonymous.post(
        "/auth/login", json={"username": "auditor", "password": "a long passphrase"}
    )
    assert answer.status_code == 200, answer.text
    me = httpx.get(
        f"{api.url}{API}/me", headers={"Authorization": f"Bearer {answer.json()['token']}"}
    )
    assert me.json() == {"username": "auditor", "is_admin": False}
