"""Helpers of the artifact tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from live_server import LiveServer
from mled.artifacts.blobstore import BlobStore
from mled.service import Services
from mled.store.sql.store import SqlStore

HOSTILE = [
    "../escape.txt",
    "a/../../escape.txt",
    "..",
    "/etc/passwd",
    "//proc/self/environ",
    "C:\\Windows\\win.ini",
    "..\\..\\escape.txt",
    "dir\\escape.txt",
    "ok\x00.txt",
    "%2e%2e/escape.txt",
    "%2E%2E%2Fescape.txt",
    "..%2fescape.txt",
    "%252e%252e/escape.txt",
    "\uff0e\uff0e/escape.txt",  # fullwidth full stops
    "\u2025/escape.txt",  # two dot leader
    "a\u2215..\u2215escape.txt",  # division slashes
    "\u3002\u3002/escape.txt",  # ideographic full stops
    "file:///etc/passwd",
    "s3://other-bucket/key",
    "model.pt;rm -rf ~",
    "model.pt#fragment",
    "model.pt?versionId=1",
    "evil\u202egnp.exe",  # right-to-left override
    "zero\u200bwidth.txt",
    "...",
    "trailing./file",
    "space /file",
    "CON",
    "aux.txt",
    "line\nbreak",
    "",
    "x" * 300,
]
"""Paths that must never be accepted as artifact paths, dataset files or archive members."""


def object_keys(blobs: BlobStore) -> list[str]:
    """Keys of every stored object, excluding temporary uploads."""
    root = blobs.object_key("0" * 64).rsplit("/objects/", 1)[0]
    if blobs.is_local:
        return sorted(str(p) for p in Path(root, "objects").rglob("*") if p.is_file())
    fs = blobs._fs
    fs.invalidate_cache()
    return sorted(fs.find(f"{root}/objects"))


@dataclass(frozen=True)
class AssetServer:
    """A real server on the test's stores, and an API token of ``alice`` (its admin)."""

    server: LiveServer
    token: str

    @property
    def url(self) -> str:
        return self.server.url


def user_token(store_uri: str, username: str = "alice") -> str:
    """A new API token of ``username`` (registered on first use; the first user is admin)."""
    store = SqlStore.open(store_uri)
    try:
        return Services.for_user(store, username).tokens.create("t").token
    finally:
        store.close()


def store_root(blobs: BlobStore) -> str:
    """The store's root: a local folder, or ``bucket/prefix`` on S3."""
    return blobs.object_key("0" * 64).rsplit("/objects/", 1)[0]


def temp_keys(blobs: BlobStore) -> list[str]:
    """Every leftover of an upload: files and objects under ``tmp/``, and on S3 the
    unfinished multipart uploads there (invisible to listings, but they cost storage)."""
    root = store_root(blobs)
    if blobs.is_local:
        return sorted(str(p) for p in Path(root, "tmp").glob("*"))
    fs = blobs._fs
    fs.invalidate_cache()
    bucket, _, prefix = root.partition("/")
    uploads = fs.list_multipart_uploads(bucket)
    unfinished = [f"{bucket}/{u['Key']}" for u in uploads if u["Key"].startswith(f"{prefix}/tmp/")]
    return sorted([*fs.find(f"{root}/tmp"), *unfinished])


def _s3_call(blobs: BlobStore, method: str, **kwargs: Any) -> Any:
    from fsspec.asyn import sync

    return sync(blobs._fs.loop, blobs._fs._call_s3, method, **kwargs)


def leave_upload(blobs: BlobStore, data: bytes, *, multipart: bool = False) -> str:
    """Leave what a writer killed mid-upload leaves under ``tmp/``; returns its key (relative
    to the store's root): a partial file (local), an object written but not yet copied to its
    digest (S3), or with ``multipart`` an unfinished multipart upload of one part (S3)."""
    name = uuid.uuid4().hex
    root = store_root(blobs)
    if blobs.is_local:
        path = Path(root, "tmp", f"{name}.part")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return f"tmp/{name}.part"
    if multipart:
        bucket, _, prefix = root.partition("/")
        key = f"{prefix}/tmp/{name}"
        upload = _s3_call(blobs, "create_multipart_upload", Bucket=bucket, Key=key)
        _s3_call(
            blobs,
            "upload_part",
            Bucket=bucket,
            Key=key,
            UploadId=upload["UploadId"],
            PartNumber=1,
            Body=data,
        )
    else:
        blobs._fs.pipe_file(f"{root}/tmp/{name}", data)
    return f"tmp/{name}"


def backdate(blobs: BlobStore, key: str, age: timedelta) -> None:
    """Make the last write of ``key`` (relative to the store's root) ``age`` ago.

    Locally with ``os.utime``; on S3, which has no call to change a timestamp, in moto's
    server itself (it runs in this process): the object's, or every part's of a multipart
    upload. The blob store then reads the timestamps through the S3 API as usual.
    """
    when = time.time() - age.total_seconds()
    root = store_root(blobs)
    if blobs.is_local:
        os.utime(f"{root}/{key}", (when, when))
        return
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    bucket_name, _, prefix = root.partition("/")
    bucket = s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[bucket_name]
    full = f"{prefix}/{key}"
    stamp = datetime.fromtimestamp(when, UTC).replace(tzinfo=None)  # moto keeps naive UTC
    found = False
    if full in bucket.keys:
        bucket.keys[full].last_modified = stamp
        found = True
    for upload in bucket.multiparts.values():
        if upload.key_name == full:
            for part in upload.parts.values():
                part.last_modified = stamp
            found = True
    assert found, f"moto has no object or multipart upload {full}"


def wait_for_answer(server: LiveServer, method: str, path: str, timeout: float = 60.0) -> int:
    """The status the server answered (or tried to answer) ``method path`` with, waiting for
    the request to end: the server finishes a request on its own after its client is gone."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m, p, status in list(server.log.entries):
            if (m, p) == (method, path):
                return status
        time.sleep(0.05)
    raise AssertionError(f"the server never answered {method} {path}: {server.log.entries}")


def flip_bit(blobs: BlobStore, digest: str, offset: int = 0) -> None:
    """Flip the lowest bit of one byte of a stored object, in place."""
    key = blobs.object_key(digest)
    if blobs.is_local:
        path = Path(key)
        path.chmod(0o644)
        data = bytearray(path.read_bytes())
        data[offset] ^= 1
        path.write_bytes(bytes(data))
        return
    fs = blobs._fs
    data = bytearray(fs.cat_file(key))
    data[offset] ^= 1
    fs.pipe_file(key, bytes(data))


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Create ``files`` (relative path -> content) under ``root``; returns ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root
