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


def _objects_keyed_by_pattern(node: object, where: str = "") -> list[str]:
    """Where the schema lets keys through on a pattern (``patternProperties``) instead of
    refusing the ones that do not match it (``propertyNames``)."""
    if isinstance(node, dict):
        found = [where] if "patternProperties" in node else []
        for key, value in node.items():
            found += _objects_keyed_by_pattern(value, f"{where}/{key}")
        return found
    if isinstance(node, list):
        return [w for i, v in enumerate(node) for w in _objects_keyed_by_pattern(v, f"{where}/{i}")]
    return []


def test_dict_keys_are_constrained_by_property_names_in_the_schema() -> None:
    """A body the schema calls valid is one the API accepts: keys the API refuses (a metric key
    with a space at the end, say) must be invalid in the schema too, optional dicts included."""
    app = create_app(ServerSettings(store_uri="sqlite:////nonexistent/mled.db"))
    schema = app.openapi()
    assert _objects_keyed_by_pattern(schema) == []
    directions = schema["components"]["schemas"]["CompareIn"]["properties"]["directions"]
    (keyed,) = [m for m in directions["anyOf"] if m.get("type") == "object"]
    assert keyed["propertyNames"]["pattern"].startswith("^[A-Za-z0-9")
