"""Moving bytes between the ASGI event loop and the blocking service layer, chunk by chunk.

A request body is read with ``request.stream()`` on the event loop while the blob store writes
in a worker thread; :func:`body_chunks` hands the chunks over one at a time, so an upload of any
size holds only a chunk or two in memory. A client that goes away mid-stream (a killed
process) makes the body end early: that is :class:`UploadIncomplete`, which the blob store
answers by discarding its temporary object, like any other failure of its source.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from itertools import chain

import anyio.from_thread
from starlette.requests import ClientDisconnect
from starlette.types import Scope

from mled.artifacts.errors import UploadIncomplete

_BLOB_UPLOAD = re.compile(r"/experiments/[^/]+/blobs(/[0-9a-f]{64})?/?$")


def body_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The chunks of an async request body as a blocking iterator (for a worker thread).

    Raises UploadIncomplete when the client disconnects before the body's end: a known
    outcome answered with a 400 problem (which nobody reads), not a 500 and a traceback.
    """
    iterator = stream.__aiter__()
    received = 0

    async def next_chunk() -> bytes | None:
        try:
            return await iterator.__anext__()
        except StopAsyncIteration:
            return None

    while True:
        try:
            chunk = anyio.from_thread.run(next_chunk)
        except ClientDisconnect:
            raise UploadIncomplete(
                f"the client went away after sending {received} bytes of the upload; the "
                "partial upload was discarded"
            ) from None
        if chunk is None:
            return
        if chunk:
            received += len(chunk)
            yield chunk


def primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Read the first chunk now, so that a missing object is an error response (with its
    status) rather than a stream that breaks after the headers were sent."""
    first = next(chunks, None)
    return chunks if first is None else chain([first], chunks)


def is_blob_upload(scope: Scope) -> bool:
    """A streamed upload of raw bytes (``POST .../blobs``, ``PUT .../blobs/{digest}``): the
    blob store takes it chunk by chunk, so the JSON body size limit does not apply."""
    match = _BLOB_UPLOAD.search(str(scope.get("path", "")))
    if match is None:
        return False
    return scope.get("method") == ("PUT" if match.group(1) else "POST")
