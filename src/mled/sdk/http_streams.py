"""Streaming bytes to and from an MLED server: blob uploads and verified downloads.

An upload sends a chunk iterator as the request body (chunked transfer encoding), so a file of
any size is never held in memory; it is not retried, since an iterator cannot be replayed (the
SDK uploads again, and uploads are idempotent). A download hashes the bytes as they arrive and
raises ``ArtifactCorrupted`` at the end when they do not match the digest: the server aborts a
response whose stored object it finds corrupted, and this check catches it on this side too.

Example:
    >>> ref = HttpUploader(transport, "/experiments/ID").put(iter([b"x"]))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator
from typing import Any

import httpx

from mled.artifacts.entities import BlobRef
from mled.artifacts.errors import ArtifactCorrupted
from mled.errors import StoreUnavailable
from mled.sdk.http_transport import Transport, describe, error_from_response

UPLOAD_TIMEOUT = httpx.Timeout(None, connect=10.0)
"""A large upload may take long; only connecting is bounded."""


def _unreachable(url: str, err: httpx.HTTPError, what: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"{what} failed: the MLED server at {url} did not answer ({describe(err)})",
        hint="Check that the server is running; then retry (uploads are idempotent).",
    )


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        response.read()
        raise error_from_response(response)
    return response


class HttpUploader:
    """The ``Uploader`` of an experiment on a server: each ``put`` is one streamed request."""

    def __init__(self, transport: Transport, experiment_path: str) -> None:
        self._transport = transport
        self._base = experiment_path

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobRef:
        """Stream ``chunks``; the server verifies ``digest``/``size`` when given."""
        method, path = ("PUT", f"{self._base}/blobs/{digest}") if digest else ("POST", "")
        path = path or f"{self._base}/blobs"
        params = {"size": size} if size is not None else None
        headers = {"Content-Type": "application/octet-stream"}
        try:
            response = self._transport.client.request(
                method,
                path,
                content=iter(chunks),
                params=params,
                headers=headers,
                timeout=UPLOAD_TIMEOUT,
            )
        except httpx.TransportError as err:
            raise _unreachable(self._transport.base_url, err, "an upload") from err
        body = _checked(response).json()
        return BlobRef(str(body["digest"]), int(body["size"]))

    def missing(self, digests: Collection[str]) -> set[str]:
        """Which of these digests the server's blob store lacks."""
        if not digests:
            return set()
        response = self._transport.request(
            "POST", f"{self._base}/missing-blobs", json={"digests": sorted(digests)}
        )
        return set(response.json()["missing"])


def verified_download(
    transport: Transport, path: str, *, name: str, digest: str, size: int, **kwargs: Any
) -> Iterator[bytes]:
    """The chunks of a streamed download of ``name``, checked against ``digest`` and ``size``.

    Nothing is requested before the first chunk is asked for. Raises ``ArtifactCorrupted`` (at
    the end) when the bytes differ, the error the server answers before streaming (missing
    object, no permission ...), or ``StoreUnavailable`` when the stream breaks early.
    """
    h = hashlib.sha256()
    n = 0
    try:
        with transport.client.stream("GET", path, timeout=UPLOAD_TIMEOUT, **kwargs) as response:
            _checked(response)
            for chunk in response.iter_bytes():
                h.update(chunk)
                n += len(chunk)
                yield chunk
    except httpx.TransportError as err:
        if n < size:
            raise StoreUnavailable(
                f"the download of {name} broke off after {n} of {size} bytes ({describe(err)})",
                hint="Retry; when it persists, run `mled verify`: the stored object may be "
                "damaged.",
            ) from err
    actual = h.hexdigest()
    if actual != digest or n != size:
        raise ArtifactCorrupted(
            f"{name} is corrupted: the server sent {n} bytes hashing to {actual}, not the "
            f"object {digest}",
            details={"digest": digest, "actual": actual},
        )
