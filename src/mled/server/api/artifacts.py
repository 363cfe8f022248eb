"""Artifacts of experiments: streamed blob uploads, registration, listing, streamed downloads.

Bytes go up in two steps: the raw body of ``PUT /experiments/{id}/blobs/{sha256}`` (or ``POST
.../blobs`` when the client does not know the digest yet) is written into the blob store chunk
by chunk and verified, then ``POST .../artifacts`` records logical paths for the stored
objects. A download streams the stored object, verifying it while it is read: when the bytes
no longer match, the response is aborted before it completes, and the client's own digest
check fails too.

Example:
    $ curl -X PUT --data-binary @model.pt -H 'Content-Type: application/octet-stream' \\
        -H "Authorization: Bearer $TOKEN" $URL/api/v1/experiments/$ID/blobs/$(sha256sum ...)
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from mled.artifacts.entities import Artifact, BlobRef, GcReport
from mled.auth.permissions import Action
from mled.server.asset_schemas import (
    RAW_BODY,
    ArtifactPath,
    ArtifactsIn,
    BlobOut,
    DigestPath,
    DigestsIn,
    GcIn,
    MissingOut,
    Size,
)
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import ExperimentRef, problems
from mled.server.streams import body_chunks, primed
from mled.service import Services

router = APIRouter(tags=["artifacts"])

READ_ERRORS = problems(400, 401, 403, 404, 409, 422, 500, 503)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)
UPLOAD_ERRORS = problems(400, 401, 403, 404, 409, 415, 422, 503)
OCTET_STREAM = "application/octet-stream"
DIGEST_HEADER = "X-MLED-Digest"
SIZE_HEADER = "X-MLED-Size"
STREAM_RESPONSES = {
    **READ_ERRORS,
    200: {"content": {OCTET_STREAM: {}}, "description": "The bytes."},
}
"""Responses of a route that streams stored bytes."""


async def _store_body(
    s: Services, experiment_id: str, request: Request, digest: str | None, size: int | None
) -> BlobOut:
    """Write the request body into the blob store from a worker thread, chunk by chunk."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != OCTET_STREAM:
        raise HTTPException(415, f"the body must be {OCTET_STREAM}, not {media or 'absent'}")
    chunks = body_chunks(request.stream())

    def put() -> BlobRef:
        return s.artifacts.uploader(experiment_id).put(chunks, digest=digest, size=size)

    ref = await anyio.to_thread.run_sync(put)
    return BlobOut(digest=ref.digest, size=ref.size)


@router.put(
    "/experiments/{experiment_id}/blobs/{digest}",
    openapi_extra={**permission(Action.LOG), **RAW_BODY},
    responses=UPLOAD_ERRORS,
)
async def put_blob(
    experiment_id: ExperimentRef,
    digest: DigestPath,
    request: Request,
    s: ServicesDep,
    size: Annotated[Size | None, Query(description="The byte count, checked when given.")] = None,
) -> BlobOut:
    """Store the raw body as the object ``digest``; refused (400) unless it hashes to it.

    The body is streamed (any size); the object becomes visible only once verified and is
    durable when this answers. Uploading existing content again replaces the stored object
    with the newly verified bytes (which repairs a damaged one).
    """
    return await _store_body(s, experiment_id, request, digest, size)


@router.post(
    "/experiments/{experiment_id}/blobs",
    openapi_extra={**permission(Action.LOG), **RAW_BODY},
    responses=UPLOAD_ERRORS,
)
async def post_blob(
    experiment_id: ExperimentRef,
    request: Request,
    s: ServicesDep,
    size: Annotated[Size | None, Query(description="The byte count, checked when given.")] = None,
) -> BlobOut:
    """Store the raw body under the digest the server computes while streaming it."""
    return await _store_body(s, experiment_id, request, None, size)


@router.post(
    "/experiments/{experiment_id}/missing-blobs",
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def missing_blobs(experiment_id: ExperimentRef, body: DigestsIn, s: ServicesDep) -> MissingOut:
    """Which of these digests the blob store lacks (so that only those are uploaded)."""
    return MissingOut(missing=sorted(s.artifacts.uploader(experiment_id).missing(body.digests)))


@router.post(
    "/experiments/{experiment_id}/artifacts",
    openapi_extra=permission(Action.LOG),
    responses=WRITE_ERRORS,
)
def register_artifacts(
    experiment_id: ExperimentRef, body: ArtifactsIn, s: ServicesDep
) -> list[Artifact]:
    """Record logical paths for uploaded objects, in one transaction and one audit event.

    The same path with the same content again is a no-op; other content is a 409.
    """
    return s.artifacts.register(experiment_id, body.entries())


@router.get(
    "/experiments/{experiment_id}/artifacts",
    openapi_extra=permission(Action.READ),
    responses=READ_ERRORS,
)
def list_artifacts(
    experiment_id: ExperimentRef,
    s: ServicesDep,
    prefix: Annotated[str | None, Query(max_length=4096, description="A file or folder.")] = None,
) -> list[Artifact]:
    """The artifacts at ``prefix`` or under the folder ``prefix`` (all by default), by path."""
    return s.artifacts.list(experiment_id, prefix)


@router.get(
    "/experiments/{experiment_id}/artifacts/{path:path}",
    openapi_extra=permission(Action.READ),
    responses=STREAM_RESPONSES,
    response_class=StreamingResponse,
)
def download_artifact(
    experiment_id: ExperimentRef, path: ArtifactPath, s: ServicesDep
) -> StreamingResponse:
    """The bytes of one artifact, streamed and verified while read (headers
    ``X-MLED-Digest`` and ``X-MLED-Size``); aborted before the end when they are corrupted."""
    artifact, chunks = s.artifacts.read(experiment_id, path)
    return StreamingResponse(
        primed(chunks),
        media_type="application/octet-stream",
        headers={DIGEST_HEADER: artifact.digest, SIZE_HEADER: str(artifact.size)},
    )


@router.post(
    "/artifact-store/gc",
    openapi_extra=permission(Action.MANAGE),
    responses=problems(400, 401, 403, 422, 503),
)
def collect_garbage(body: GcIn, s: ServicesDep) -> GcReport:
    """Remove temporary uploads not written to for ``older_than`` seconds (leftovers of
    killed uploads) and, with ``remove_unreferenced``, complete objects nothing refers to
    that are as old; ``dry_run`` only reports. Admins only; audited as ``artifacts.gc``."""
    return s.artifact_gc.collect(
        older_than=timedelta(seconds=body.older_than),
        dry_run=body.dry_run,
        remove_unreferenced=body.remove_unreferenced,
    )
