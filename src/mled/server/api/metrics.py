"""Metric batches and metric histories.

A batch is one request and one transaction: the binary ``application/x-mled-batch`` body
(see :mod:`mled.wire`, usually ``Content-Encoding: gzip``) or a JSON body
``{"metrics": {key: {"steps": [...], "timestamps": [...], "values": [...]}}}``. A batch sent
again with the same ``Idempotency-Key`` header is stored once.

Example:
    $ curl -X POST $URL/api/v1/experiments/0190c0de/metrics \\
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
        -d '{"metrics": {"loss": {"steps": [0], "timestamps": [1767225600.0], "values": [0.5]}}}'
    {"points":1}
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from mled.auth.permissions import Action
from mled.entities import Series
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import (
    ExperimentRef,
    MetricBatchIn,
    MetricHistoryOut,
    PointsOut,
    json_safe,
    problems,
)
from mled.service import Services
from mled.wire import BATCH_MEDIA_TYPE, decode_batch, encode_batch, gunzip_limited

router = APIRouter(tags=["metrics"])

JSON_MEDIA_TYPE = "application/json"
_BINARY_SCHEMA = {"type": "string", "format": "binary"}


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` inlined (openapi_extra cannot add components)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(defs[ref.rsplit("/", 1)[1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The binary batch format (fast) or the JSON form of the same batch.",
        "content": {
            JSON_MEDIA_TYPE: {"schema": _inline_refs(MetricBatchIn.model_json_schema())},
            BATCH_MEDIA_TYPE: {"schema": _BINARY_SCHEMA},
        },
    }
}


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def decode_metric_body(
    body: bytes, content_type: str | None, content_encoding: str | None
) -> dict[str, Series]:
    """The batch a request body carries, in either media type, gzip-compressed or not.

    Example:
        >>> decode_metric_body(encode_batch({"loss": ([1], [2.0], [0.5])}), BATCH_MEDIA_TYPE, None)
        {'loss': ([1], [2.0], [0.5])}
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = gunzip_limited(body)
    elif encoding != "identity":
        raise HTTPException(415, f"the content encoding {encoding!r} is not supported; use gzip")
    media_type = _media_type(content_type)
    if media_type == BATCH_MEDIA_TYPE:
        return decode_batch(body)
    if media_type == JSON_MEDIA_TYPE:
        try:
            return MetricBatchIn.model_validate_json(body).batch()
        except ValidationError as err:
            errors = [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
            raise RequestValidationError(errors) from None
    raise HTTPException(
        415,
        f"a metric batch is sent as {BATCH_MEDIA_TYPE} or {JSON_MEDIA_TYPE}, not "
        f"{media_type or 'a body without Content-Type'}",
    )


def _log_batch(
    s: Services,
    experiment_id: str,
    body: bytes,
    content_type: str | None,
    content_encoding: str | None,
    idempotency_key: str | None,
) -> int:
    batch = decode_metric_body(body, content_type, content_encoding)
    return s.metrics.log_batch(experiment_id, batch, idempotency_key=idempotency_key)


@router.post(
    "/experiments/{experiment_id}/metrics",
    openapi_extra={**permission(Action.LOG), **_BATCH_BODY},
    responses=problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
async def log_metrics(
    experiment_id: ExperimentRef,
    request: Request,
    s: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=100,
            description="A fresh random key per batch; a retry with the same key is a no-op.",
        ),
    ] = None,
) -> PointsOut:
    """Store a batch of metric points of a running experiment durably (one transaction)."""
    body = await request.body()
    points = await run_in_threadpool(
        _log_batch,
        s,
        experiment_id,
        body,
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
        idempotency_key,
    )
    return PointsOut(points=points)


@router.get(
    "/experiments/{experiment_id}/metrics/{key:path}",
    response_model=MetricHistoryOut,
    openapi_extra=permission(Action.READ),
    responses={
        200: {
            "description": "The history as JSON columns, or as a binary batch of one key "
            f"when the request accepts {BATCH_MEDIA_TYPE}.",
            "content": {BATCH_MEDIA_TYPE: {"schema": _BINARY_SCHEMA}},
        },
        **problems(400, 401, 403, 404, 409, 422, 503),
    },
)
def metric_history(
    experiment_id: ExperimentRef,
    key: Annotated[str, Path(min_length=1, max_length=250)],
    request: Request,
    s: ServicesDep,
    max_points: Annotated[
        int | None,
        Query(ge=2, le=10_000_000, description="Downsample (LTTB) to at most this many."),
    ] = None,
) -> Any:
    """Every point of one metric in (step, timestamp) order, optionally downsampled."""
    history = s.metrics.history(experiment_id, key, max_points=max_points)
    if BATCH_MEDIA_TYPE in request.headers.get("accept", ""):
        body = encode_batch({key: (history.steps, history.timestamps, history.values)})
        return Response(body, media_type=BATCH_MEDIA_TYPE, headers={"Vary": "Accept"})
    return MetricHistoryOut(
        key=key,
        steps=history.steps,
        timestamps=json_safe(history.timestamps),
        values=json_safe(history.values),
    )
