"""Retries and error mapping of the transport, against scripted answers (no server)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from mled.errors import (
    ERROR_CLASSES,
    InvalidInput,
    MledError,
    NotFound,
    ParamConflict,
    QuerySyntaxError,
    StoreUnavailable,
)
from mled.sdk import http_transport
from mled.sdk.http_transport import (
    ServerUnreachable,
    Transport,
    error_from_problem,
    unreachable_error,
)

Step = Callable[[httpx.Request], httpx.Response]


def scripted(steps: list[Step | Exception]) -> tuple[Transport, list[httpx.Request]]:
    """A transport whose successive attempts get the scripted answers or errors."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = steps[min(len(seen), len(steps)) - 1]
        if isinstance(step, Exception):
            raise step
        return step(request)

    client = httpx.Client(base_url="http://server/api/v1", transport=httpx.MockTransport(handler))
    return Transport("http://server", None, timeout=5, retries=3, client=client), seen


def answer(status: int, body: object = None) -> Step:
    return lambda request: httpx.Response(status, json=body)


def problem(status: int, code: str) -> Step:
    return answer(status, {"code": code, "detail": f"{code} happened", "hint": "do this"})


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_transport.time, "sleep", lambda s: None)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.code)
def test_every_error_code_maps_back_to_its_class_with_message_and_hint(
    cls: type[MledError],
) -> None:
    body = {"code": cls.code, "detail": "what went wrong", "hint": "what to do"}
    err = error_from_problem(cls.status, body)
    assert type(err) is cls
    assert err.message.startswith("what went wrong")
    assert err.hint == "what to do"


def test_an_unknown_code_falls_back_on_the_class_of_its_status() -> None:
    err = error_from_problem(422, {"code": "validation_error", "detail": "bad field"})
    assert type(err) is InvalidInput
    assert err.details["code"] == "validation_error"
    assert type(error_from_problem(404, {"code": "route_not_found"})) is NotFound


def test_query_errors_keep_their_position() -> None:
    body = {
        "code": "query_syntax_error",
        "detail": "unexpected token\n  a ==\n     ^",
        "details": {"line": 1, "column": 5, "expected": ["NUMBER"]},
    }
    err = error_from_problem(400, body)
    assert isinstance(err, QuerySyntaxError)
    assert (err.line, err.column, err.expected) == (1, 5, ["NUMBER"])


def test_transient_answers_are_retried_with_the_same_idempotency_key() -> None:
    transport, seen = scripted(
        [problem(503, "store_unavailable"), answer(502), answer(200, {"points": 3})]
    )
    got = transport.request("POST", "/x", json={"a": 1}, headers={"Idempotency-Key": "k1"})
    assert got.json() == {"points": 3}
    assert [r.headers["Idempotency-Key"] for r in seen] == ["k1", "k1", "k1"]


def test_client_errors_are_never_retried() -> None:
    transport, seen = scripted([problem(409, "param_conflict"), answer(200)])
    with pytest.raises(ParamConflict, match="param_conflict happened") as info:
        transport.request("POST", "/x", json={})
    assert info.value.hint == "do this"
    assert len(seen) == 1


def test_a_server_that_never_answers_is_unreachable_after_the_retries() -> None:
    transport, seen = scripted([httpx.ConnectError("refused")])
    with pytest.raises(ServerUnreachable, match="ConnectError"):
        transport.request("GET", "/x")
    assert len(seen) == 4


def test_a_500_is_retried_only_after_an_attempt_with_an_unknown_outcome() -> None:
    transport, seen = scripted([problem(500, "internal_error")])
    with pytest.raises(MledError):
        transport.request("POST", "/x", json={})
    assert len(seen) == 1
    lost = httpx.ReadError("connection reset")
    transport, seen = scripted([lost, problem(500, "internal_error"), answer(200, {})])
    assert transport.request("POST", "/x", json={}).status_code == 200
    assert len(seen) == 3


def test_nan_and_infinity_travel_in_json_bodies() -> None:
    transport, seen = scripted([answer(200, {})])
    transport.request("POST", "/x", json={"lr": float("nan"), "cap": float("inf")})
    assert seen[0].content == b'{"lr":NaN,"cap":Infinity}'


def test_an_unreachable_server_reads_as_store_unavailable_with_a_hint() -> None:
    err = unreachable_error("http://h:1", ServerUnreachable("ConnectError: refused"))
    assert isinstance(err, StoreUnavailable)
    assert "http://h:1" in err.message
    assert "health" in err.hint
    server_said = StoreUnavailable("the database is down")
    assert unreachable_error("http://h:1", ServerUnreachable("x", server_said)) is server_said


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    delays = [Transport.delay(n) for n in range(1, 10)]
    assert all(d > 0 for d in delays)
    assert delays[0] <= http_transport.BACKOFF_BASE
    assert max(delays) <= http_transport.BACKOFF_MAX
