"""The OpenAPI description links each creation to the operations that take what it returns."""

from __future__ import annotations

from typing import Any

import pytest

from mled.server.app import API_PREFIX, create_app
from mled.server.links import LINKS, Link, add_links
from mled.server.settings import ServerSettings


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app(ServerSettings(store_uri="sqlite:////nonexistent/mled.db")).openapi()


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _operation(schema: dict[str, Any], operation_id: str) -> tuple[str, dict[str, Any]]:
    for path, item in schema["paths"].items():
        for operation in item.values():
            if operation.get("operationId") == operation_id:
                return path, operation
    raise AssertionError(f"no operation {operation_id}")


@pytest.mark.parametrize(
    ("source", "link"),
    [(source, link) for source, links in LINKS.items() for link in links],
    ids=lambda v: v.name if isinstance(v, Link) else " ".join(v),
)
def test_each_link_passes_a_field_of_the_response_as_a_path_parameter_of_its_target(
    schema: dict[str, Any], source: tuple[str, str, str], link: Link
) -> None:
    method, path, status = source
    response = schema["paths"][API_PREFIX + path][method]["responses"][status]
    described = response["links"][link.name]
    body = _resolve(schema, response["content"]["application/json"]["schema"])
    assert link.field in body["properties"]
    assert link.field in body.get("required", [])

    target_path, target = _operation(schema, described["operationId"])
    assert (target_path, target) == (
        API_PREFIX + link.path,
        schema["paths"][API_PREFIX + link.path][link.method],
    )
    path_parameters = {p["name"] for p in target["parameters"] if p["in"] == "path"}
    assert set(described["parameters"]) == {link.parameter} <= path_parameters
    assert described["parameters"][link.parameter] == f"$response.body#/{link.field}"


def test_a_renamed_route_fails_when_the_description_is_generated() -> None:
    schema = {"paths": {"/api/v1/experiments": {"post": {"responses": {"201": {}}}}}}
    with pytest.raises(KeyError):
        add_links(schema, API_PREFIX)
