"""Every error a client can cause comes back as an RFC 9457 problem with the right status.

One case per error class of ``mled.errors`` that a request can provoke; the classes no request
can provoke are listed with the reason, and a test keeps both lists complete. Plus the errors
of the HTTP layer itself: 422 naming the field, 404 route, 405, 413, 415.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator

import httpx
import pytest
from mled_api_harness import API, Api, LiveServer, assert_problem

from mled.errors import ERROR_CLASSES
from mled.server.settings import ServerSettings
from mled.wire import BATCH_MEDIA_TYPE, encode_batch

ID_A = "01900000-0000-7000-8000-00000000000a"
ID_B = "01900000-0000-7000-8000-00000000000b"


def _experiment(admin: httpx.Client, **fields: object) -> str:
    answer = admin.post("/experiments", json={"project": "alpha", "name": "e", **fields})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _invalid_input(api: Api) -> httpx.Response:
    body = {"project": "alpha", "name": "e", "started_at": 200.0, "ended_at": 100.0}
    return api.client().post("/experiments", json=body)


def _invalid_key(api: Api) -> httpx.Response:
    return api.client().post(
        "/experiments", json={"project": "alpha", "name": "e", "tags": {"a/../b": 1}}
    )


def _invalid_param_value(api: Api) -> httpx.Response:
    eid = _experiment(api.client())
    return api.client().post(f"/experiments/{eid}/params", json={"params": {"big": "x" * 70_000}})


def _unauthenticated(api: Api) -> httpx.Response:
    return api.client(None).get("/experiments")


def _permission_denied(api: Api) -> httpx.Response:
    eid = _experiment(api.client())
    return api.client("outsider").get(f"/experiments/{eid}")


def _not_found(api: Api) -> httpx.Response:
    return api.client().delete("/tokens/999999")


def _experiment_not_found(api: Api) -> httpx.Response:
    return api.client().get("/experiments/ffffffff")


def _project_not_found(api: Api) -> httpx.Response:
    return api.client().get("/experiments", params={"project": "nope"})


def _metric_not_found(api: Api) -> httpx.Response:
    eid = _experiment(api.client())
    return api.client().get(f"/experiments/{eid}/metrics/nope")


def _user_not_found(api: Api) -> httpx.Response:
    return api.client().post("/users/nobody/disable")


def _conflict(api: Api) -> httpx.Response:
    """An idempotency key reused by another user."""
    eid = _experiment(api.client())
    body = {"metrics": {"loss": {"steps": [1], "timestamps": [1.0], "values": [0.5]}}}
    headers = {"Idempotency-Key": "shared-key"}
    assert api.client().post(f"/experiments/{eid}/metrics", json=body, headers=headers).is_success
    mine = _experiment(api.client("ml_engineer"))
    return api.client("ml_engineer").post(
        f"/experiments/{mine}/metrics", json=body, headers=headers
    )


def _ambiguous_id(api: Api) -> httpx.Response:
    _experiment(api.client(), id=ID_A)
    _experiment(api.client(), id=ID_B)
    return api.client().get("/experiments/0190")


def _already_exists(api: Api) -> httpx.Response:
    return api.client().post("/projects", json={"name": "alpha"})


def _param_conflict(api: Api) -> httpx.Response:
    eid = _experiment(api.client(), params={"lr": 0.1})
    return api.client().post(f"/experiments/{eid}/params", json={"params": {"lr": 0.2}})


def _experiment_not_active(api: Api) -> httpx.Response:
    eid = _experiment(api.client(), status="finished")
    return api.client().post(f"/experiments/{eid}/params", json={"params": {"lr": 0.2}})


def _rate_limited(api: Api) -> httpx.Response:
    anonymous = api.client(None)
    wrong = {"username": "auditor", "password": "not the password"}
    for _ in range(5):
        assert_problem(anonymous.post("/auth/login", json=wrong), 401, "unauthenticated")
    return anonymous.post("/auth/login", json=wrong)


def _payload_too_large(api: Api) -> httpx.Response:
    with LiveServer(ServerSettings(store_uri=api.store_uri, max_body_bytes=1024)) as small:
        headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
        body = {"project": "alpha", "name": "e", "notes": "x" * 4096}
        return httpx.post(f"{small.url}{API}/experiments", json=body, headers=headers)


PROVOKE: dict[str, Callable[[Api], httpx.Response]] = {
    "invalid_input": _invalid_input,
    "invalid_key": _invalid_key,
    "invalid_param_value": _invalid_param_value,
    "unauthenticated": _unauthenticated,
    "permission_denied": _permission_denied,
    "not_found": _not_found,
    "experiment_not_found": _experiment_not_found,
    "project_not_found": _project_not_found,
    "metric_not_found": _metric_not_found,
    "user_not_found": _user_not_found,
    "conflict": _conflict,
    "ambiguous_id": _ambiguous_id,
    "already_exists": _already_exists,
    "param_conflict": _param_conflict,
    "experiment_not_active": _experiment_not_active,
    "payload_too_large": _payload_too_large,
    "rate_limited": _rate_limited,
}

NOT_PROVOKABLE = {
    "mled_error": "the root class; only raised through subclasses",
    "invalid_metric_value": "the schema types metric values (422); binary batches are floats",
    "invalid_name": "the schema's name pattern answers first (422, see the validation test)",
    "invalid_tracking_uri": "a client-side setting, never sent to the server",
    "query_syntax_error": "no search route yet",
    "unknown_field": "no search route yet",
    "unsafe_path": "no artifact route yet",
    "schema_outdated": "refused when the server starts, before any request",
    "store_unavailable": "needs the database to fail under a running server",
}


def test_every_error_class_is_provoked_or_explained() -> None:
    codes = {cls.code for cls in ERROR_CLASSES}
    assert codes == set(PROVOKE) | set(NOT_PROVOKABLE)
    assert not set(PROVOKE) & set(NOT_PROVOKABLE)


@pytest.mark.parametrize("code", sorted(PROVOKE))
def test_error_class_is_a_problem_with_its_status(api: Api, code: str) -> None:
    cls = next(c for c in ERROR_CLASSES if c.code == code)
    body = assert_problem(PROVOKE[code](api), cls.status, code)
    assert body["title"] == code.replace("_", " ")
    if code == "permission_denied":
        assert body["details"]["permission"] == "read"
        assert "'read'" in body["detail"]
    if code == "ambiguous_id":
        assert sorted(body["details"]["candidates"]) == [ID_A, ID_B]


def test_validation_errors_name_the_field(admin: httpx.Client) -> None:
    body = {"project": "alpha", "name": " padded", "status": "sleeping"}
    problem = assert_problem(admin.post("/experiments", json=body), 422, "validation_error")
    fields = {f["field"] for f in problem["details"]["fields"]}
    assert fields == {"name", "status"}
    assert "name" in problem["detail"]
    assert "status" in problem["detail"]

    problem = assert_problem(admin.get("/experiments", params={"limit": 0}), 422)
    assert [f["field"] for f in problem["details"]["fields"]] == ["query.limit"]

    problem = assert_problem(admin.post("/experiments", json={"name": "e"}), 422)
    assert [f["field"] for f in problem["details"]["fields"]] == ["project"]

    eid = _experiment(admin)
    batch = {"metrics": {"loss": {"steps": [0.5], "timestamps": [1.0], "values": [1.0]}}}
    problem = assert_problem(admin.post(f"/experiments/{eid}/metrics", json=batch), 422)
    assert [f["field"] for f in problem["details"]["fields"]] == ["metrics.loss.steps.0"]


def test_malformed_json_is_a_problem(admin: httpx.Client) -> None:
    headers = {"Content-Type": "application/json"}
    assert_problem(admin.post("/experiments", content=b"{nope", headers=headers), 422)
    not_utf8 = b'{"name": "\xff"}'
    assert_problem(admin.post("/experiments", content=not_utf8, headers=headers), 400, "http_error")


def test_http_layer_errors_are_problems(admin: httpx.Client) -> None:
    assert_problem(admin.get("/no/such/route"), 404, "route_not_found")
    assert_problem(admin.put("/health"), 405, "method_not_allowed")
    eid = _experiment(admin)
    text = admin.post(
        f"/experiments/{eid}/metrics", content=b"loss=1", headers={"Content-Type": "text/plain"}
    )
    assert_problem(text, 415, "http_error")
    brotli = admin.post(
        f"/experiments/{eid}/metrics",
        content=encode_batch({"loss": ([1], [1.0], [1.0])}),
        headers={"Content-Type": BATCH_MEDIA_TYPE, "Content-Encoding": "br"},
    )
    assert_problem(brotli, 415, "http_error")


def test_malformed_metric_bodies_are_invalid_input(admin: httpx.Client) -> None:
    eid = _experiment(admin)
    binary = {"Content-Type": BATCH_MEDIA_TYPE}
    url = f"/experiments/{eid}/metrics"
    assert_problem(admin.post(url, content=b"garbage", headers=binary), 400, "invalid_input")
    truncated = encode_batch({"loss": ([1, 2], [1.0, 2.0], [1.0, 2.0])})[:-3]
    assert_problem(admin.post(url, content=truncated, headers=binary), 400, "invalid_input")
    not_gzip = {**binary, "Content-Encoding": "gzip"}
    assert_problem(admin.post(url, content=b"not gzip", headers=not_gzip), 400, "invalid_input")
    uneven = {"metrics": {"loss": {"steps": [1, 2], "timestamps": [1.0], "values": [1.0]}}}
    assert_problem(admin.post(url, json=uneven), 400, "invalid_input")
    good = gzip.compress(encode_batch({"loss": ([1], [1.0], [1.0])}))
    assert admin.post(url, content=good, headers=not_gzip).json() == {"points": 1}


def _chunks() -> Iterator[bytes]:
    for _ in range(8):
        yield b"x" * 512


def _post_streamed(api: Api, path: str, content_type: str) -> httpx.Response:
    """POST 4 KiB without Content-Length (chunked) to a server with a 1 KiB body limit."""
    with LiveServer(ServerSettings(store_uri=api.store_uri, max_body_bytes=1024)) as small:
        headers = {"Authorization": f"Bearer {api.tokens['admin']}", "Content-Type": content_type}
        return httpx.post(f"{small.url}{API}{path}", content=_chunks(), headers=headers)


def test_a_streamed_metric_batch_over_the_limit_is_refused(api: Api) -> None:
    eid = _experiment(api.client())
    answer = _post_streamed(api, f"/experiments/{eid}/metrics", BATCH_MEDIA_TYPE)
    assert_problem(answer, 413, "payload_too_large")


def test_a_streamed_json_body_over_the_limit_is_refused(api: Api) -> None:
    answer = _post_streamed(api, "/experiments", "application/json")
    assert_problem(answer, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/experiments", b'{"project": "alpha", "name": "a\\ud800"}'),
        ("/experiments", b'{"project": "alpha", "name": "a", "params": {"p": ["\\udfff"]}}'),
        ("/auth/login", b'{"username": "\\ud800", "password": "whatever"}'),
        ("/tokens", b'{"name": "laptop\\udbff"}'),
        (
            "/experiments/import",
            b'{"experiments": [{"project": "alpha", "name": "a"},'
            b' {"project": "alpha", "name": "b", "tags": {"t": "\\ud83d"}}]}',
        ),
    ],
)
def test_text_that_is_not_unicode_is_refused_not_stored(
    admin: httpx.Client, path: str, body: bytes
) -> None:
    """A lone surrogate escape decodes to text no database can store: 422, not 500."""
    answer = admin.post(path, content=body, headers={"Content-Type": "application/json"})
    fields = assert_problem(answer, 422, "validation_error")["details"]["fields"]
    assert "surrogate" in fields[0]["message"]
    assert admin.get("/experiments", params={"project": "alpha"}).json() == []


def test_an_emoji_sent_as_an_escaped_surrogate_pair_is_stored(admin: httpx.Client) -> None:
    body = b'{"experiments": [{"project": "alpha", "name": "run \\ud83d\\ude00"}]}'
    answer = admin.post(
        "/experiments/import", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    (stored,) = admin.get("/experiments", params={"project": "alpha"}).json()
    assert stored["name"] == "run \U0001f600"


@pytest.mark.parametrize("depth", [101, 5_000])
@pytest.mark.parametrize("field", ["params", "seeds"])
def test_a_body_nested_too_deep_is_a_client_error(
    admin: httpx.Client, field: str, depth: int
) -> None:
    """Never a 500 from a RecursionError while decoding, validating or storing the body."""
    value = "[" * depth + "1" + "]" * depth
    document = f'{{"x": {value}}}' if field == "params" else f'{{"a": {value}}}'
    body = f'{{"project": "alpha", "name": "deep", "{field}": {document}}}'.encode()
    answer = admin.post("/experiments", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["code"]
    assert answer.json()["hint"]
    assert admin.get("/experiments", params={"project": "alpha"}).json() == []
