"""docs/api.md lists every route with the permission the route declares, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

from mled.server.app import create_app
from mled.server.settings import ServerSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| `(?P<method>[A-Z]+) (?P<path>/api/v1/\S+)` \| (?P<permission>[a-z_]+) \|")


def documented() -> dict[tuple[str, str], str]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[(match["method"], match["path"])] = match["permission"]
    return rows


def served() -> dict[tuple[str, str], str]:
    app = create_app(ServerSettings(store_uri="sqlite:////nonexistent/mled.db"))
    return {
        (method.upper(), path): operation["x-mled-permission"]
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    }


def test_every_route_is_documented_with_its_permission() -> None:
    assert documented() == served()
