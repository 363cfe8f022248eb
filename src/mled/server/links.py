"""OpenAPI links: which operations take what a creation returns.

``POST /experiments`` answers with the new experiment, whose ``id`` is the ``experiment_id``
of every operation on one experiment; a new project's ``name``, a new user's ``username`` and
a new token's ``id`` are likewise the path parameters of the operations on them. The links
say so in the API description, for client generators and readers. (The API fuzzer's stateful
phase follows them; schemathesis also infers the same chains from the schemas by itself.)

They are added to the generated description afterwards, by method and path, because a route
does not know the prefix the app mounts it under, nor the operation IDs FastAPI derives.

Example:
    >>> schema = {"paths": {
    ...     "/api/v1/users": {"post": {"responses": {"201": {}}}},
    ...     "/api/v1/users/{username}/disable": {"post": {"operationId": "disable"}},
    ... }}
    >>> links = {("post", "/users", "201"): (LINKS[("post", "/users", "201")][0],)}
    >>> add_links(schema, "/api/v1", links)["paths"]["/api/v1/users"]["post"]["responses"]
    {'201': {'links': {'DisableUser': {'operationId': 'disable', \
'parameters': {'username': '$response.body#/username'}}}}}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Link:
    """One link: the operation ``method path`` takes ``field`` of the response as its path
    parameter ``parameter``."""

    name: str
    method: str
    path: str
    parameter: str
    field: str


def _on_experiment(name: str, method: str, tail: str) -> Link:
    return Link(name, method, f"/experiments/{{experiment_id}}{tail}", "experiment_id", "id")


LINKS: dict[tuple[str, str, str], tuple[Link, ...]] = {
    ("post", "/experiments", "201"): (
        _on_experiment("GetExperiment", "get", ""),
        _on_experiment("LogParams", "post", "/params"),
        _on_experiment("SetTags", "post", "/tags"),
        _on_experiment("LogMetrics", "post", "/metrics"),
        _on_experiment("SetSeeds", "post", "/seeds"),
        _on_experiment("ListArtifacts", "get", "/artifacts"),
        _on_experiment("EndExperiment", "post", "/end"),
        Link("Lineage", "get", "/lineage/{ref}", "ref", "id"),
    ),
    ("post", "/projects", "201"): (
        Link("ListMembers", "get", "/projects/{name}/members", "name", "name"),
    ),
    ("post", "/users", "201"): (
        Link("DisableUser", "post", "/users/{username}/disable", "username", "username"),
        Link("EnableUser", "post", "/users/{username}/enable", "username", "username"),
    ),
    ("post", "/tokens", "201"): (
        Link("RevokeToken", "delete", "/tokens/{token_id}", "token_id", "id"),
    ),
}
"""(method, path, status) of a creation -> the links of its response (paths without the
API prefix)."""


def add_links(
    schema: dict[str, Any],
    prefix: str,
    links: dict[tuple[str, str, str], tuple[Link, ...]] = LINKS,
) -> dict[str, Any]:
    """Add ``links`` to the OpenAPI ``schema`` of an app mounted under ``prefix``, in place;
    a source or target the schema lacks raises KeyError (a route was renamed)."""
    paths = schema["paths"]
    for (method, path, status), out in links.items():
        response = paths[prefix + path][method]["responses"][status]
        response["links"] = {
            link.name: {
                "operationId": paths[prefix + link.path][link.method]["operationId"],
                "parameters": {link.parameter: f"$response.body#/{link.field}"},
            }
            for link in out
        }
    return schema
