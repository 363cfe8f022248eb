"""The content-addressed blob store: bytes stored once per SHA-256 digest, over fsspec.

Layout under the store's root (a local folder or ``s3://bucket/prefix``)::

    objects/ab/cdef0123...   the object whose SHA-256 is abcdef0123... (read-only locally)
    tmp/<random>             uploads in progress (and leftovers of killed ones)

A write streams into a temporary object while hashing; only when every byte has arrived, the
size matches and the digest is the expected one does it become visible under its digest (a
rename locally, a server-side copy on S3), so a killed upload never leaves a partial object
where readers look: at most a temporary file (locally) or an unfinished multipart upload (S3)
under ``tmp/``, which :meth:`BlobStore.remove_stale_uploads` collects once it has not been
written to for a grace period. Writing content that is already stored replaces the object with
the newly verified bytes, which also repairs a damaged one. Reads re-hash while streaming and raise
:class:`ArtifactCorrupted` (naming what was read) when the bytes do not match. Nothing is ever
held in memory whole: data moves in chunks of ``CHUNK_SIZE``.

Example:
    >>> store = BlobStore.local(Path("/tmp/mled-doc-blobs"))
    >>> ref = store.put([b"hello ", b"world"])
    >>> ref.size, b"".join(store.read(ref.digest, name="greeting"))
    (11, b'hello world')
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mled.artifacts.entities import BlobRef, StoredItem
from mled.artifacts.errors import ArtifactCorrupted, ArtifactMissing
from mled.errors import InvalidInput, MledError, StoreUnavailable

CHUNK_SIZE = 4 * 1024 * 1024
"""Bytes read or written per step."""
S3_BLOCK_SIZE = 16 * 1024 * 1024
"""Part size of multipart uploads to S3 (at least 5 MiB)."""
REMOTE_THREADS = 8
"""Parallel requests when checking many objects of a remote store."""

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class _Found:
    """A scanned item and how to reach it again: a local path, an S3 key, or an S3 key and
    the id of its multipart upload."""

    item: StoredItem
    where: str
    upload_id: str | None = None


def check_digest(digest: object) -> str:
    """A digest as 64 lowercase hex characters, or InvalidInput (digests become object keys).

    Example:
        >>> check_digest("../../etc/passwd")
        Traceback (most recent call last):
        ...
        mled.errors.InvalidInput: '../../etc/passwd' is not a SHA-256 digest ...
    """
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise InvalidInput(
            f"{digest!r} is not a SHA-256 digest",
            hint="Digests are 64 lowercase hexadecimal characters.",
        )
    return digest


class BlobStore:
    """Objects addressed by SHA-256 digest on a local folder or an fsspec file system (S3).

    Thread-safe: uploads and reads may run in parallel threads.
    """

    def __init__(self, fs: Any, root: str, *, uri: str, local: bool) -> None:
        self._fs = fs
        self._root = root.rstrip("/")
        self._uri = uri
        self._local = local
        self._dirty = False
        self._lock = threading.Lock()
        self._made_dirs: set[str] = set()

    @classmethod
    def local(cls, root: Path) -> BlobStore:
        """A store in a local folder (created by the first write)."""
        root = Path(os.path.abspath(root.expanduser()))
        return cls(None, str(root), uri=str(root), local=True)

    @property
    def uri(self) -> str:
        return self._uri

    @property
    def is_local(self) -> bool:
        return self._local

    def object_key(self, digest: str) -> str:
        """Where the object of ``digest`` is stored (a local path or a bucket key)."""
        check_digest(digest)
        return f"{self._root}/objects/{digest[:2]}/{digest[2:]}"

    # --- writing ----------------------------------------------------------------------------

    def put(
        self,
        chunks: Iterable[bytes],
        *,
        expected_digest: str | None = None,
        expected_size: int | None = None,
        sync: bool = True,
    ) -> BlobRef:
        """Store the bytes of ``chunks``; return their digest and size.

        With ``expected_digest``/``expected_size`` the upload is refused (and nothing becomes
        visible) when the bytes differ. ``sync=False`` defers durability to :meth:`sync`, for
        callers that store many objects and then record them in one transaction.
        """
        if expected_digest is not None:
            check_digest(expected_digest)
        if self._local:
            ref = self._put_local(chunks, expected_digest, expected_size, sync)
        else:
            ref = self._put_remote(chunks, expected_digest, expected_size)
        return ref

    def _put_local(
        self, chunks: Iterable[bytes], digest: str | None, size: int | None, sync: bool
    ) -> BlobRef:
        tmp = f"{self._root}/tmp/{uuid.uuid4().hex}.part"
        h = hashlib.sha256()
        n = 0
        try:
            with self._errors("write"):
                f = self._create(tmp)
            with f:
                for chunk in chunks:  # errors of the source propagate as they are
                    h.update(chunk)
                    with self._errors("write"):
                        f.write(chunk)
                    n += len(chunk)
                with self._errors("write"):
                    f.flush()
                    if sync:
                        os.fsync(f.fileno())
            ref = _verified(h.hexdigest(), n, digest, size, os.path.getsize(tmp))
            final = self.object_key(ref.digest)
            with self._errors("write"):
                os.chmod(tmp, 0o444)
                self._move(tmp, final)
                if sync:
                    _fsync_dir(os.path.dirname(final))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if not sync:
            self._dirty = True
        return ref

    def _put_remote(self, chunks: Iterable[bytes], digest: str | None, size: int | None) -> BlobRef:
        tmp = f"{self._root}/tmp/{uuid.uuid4().hex}"
        h = hashlib.sha256()
        n = 0
        with self._errors("write"):
            f = self._fs.open(tmp, "wb", block_size=S3_BLOCK_SIZE)
        try:
            for chunk in chunks:
                h.update(chunk)
                with self._errors("write"):
                    f.write(chunk)
                n += len(chunk)
            with self._errors("write"):
                f.close()
        except BaseException:
            with contextlib.suppress(Exception):
                f.discard()  # aborts the multipart upload: nothing was committed
            f.closed = True  # never commit the discarded upload when collected
            raise
        try:
            with self._errors("write"):
                stored = int(self._fs.info(tmp)["size"])
            ref = _verified(h.hexdigest(), n, digest, size, stored)
            with self._errors("write"):
                self._fs.copy(tmp, self.object_key(ref.digest))
        finally:
            with contextlib.suppress(Exception):
                self._fs.rm(tmp)
        return ref

    def _makedirs(self, path: str, *, again: bool = False) -> None:
        """Create a local folder, once per process unless ``again``."""
        if again or path not in self._made_dirs:
            os.makedirs(path, exist_ok=True)
            self._made_dirs.add(path)

    def _create(self, path: str) -> Any:
        """Open a new local file for writing (its folder is created when needed)."""
        folder = os.path.dirname(path)
        self._makedirs(folder)
        try:
            return open(path, "wb")  # the caller closes it
        except FileNotFoundError:  # the folder was removed since it was created
            self._makedirs(folder, again=True)
            return open(path, "wb")

    def _move(self, tmp: str, final: str) -> None:
        folder = os.path.dirname(final)
        self._makedirs(folder)
        try:
            os.replace(tmp, final)
        except FileNotFoundError:
            self._makedirs(folder, again=True)
            os.replace(tmp, final)

    def sync(self) -> None:
        """Make every object written with ``sync=False`` durable (one file-system sync)."""
        if not self._local or not self._dirty:
            return
        with self._lock:
            if self._dirty:
                with self._errors("sync"):
                    _syncfs(self._root)
                self._dirty = False

    # --- reading ----------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        return self.size(digest) is not None

    def size(self, digest: str) -> int | None:
        """The stored size of an object, or None when it is missing."""
        key = self.object_key(digest)
        try:
            with self._errors("read"):
                if self._local:
                    return os.path.getsize(key)
                return int(self._fs.info(key)["size"])
        except FileNotFoundError:
            return None

    def sizes(self, digests: Iterable[str]) -> dict[str, int | None]:
        """Stored size (None: missing) of each digest; remote stores are asked in parallel."""
        unique = sorted(set(digests))
        if self._local or len(unique) < 2:
            return {d: self.size(d) for d in unique}
        with ThreadPoolExecutor(max_workers=REMOTE_THREADS) as pool:
            return dict(zip(unique, pool.map(self.size, unique), strict=True))

    def missing(self, digests: Iterable[str]) -> set[str]:
        """The digests among ``digests`` that have no stored object."""
        return {d for d, size in self.sizes(digests).items() if size is None}

    def read(self, digest: str, *, name: str, size: int | None = None) -> Iterator[bytes]:
        """Stream an object in chunks, verifying it; ``name`` says what it is in errors.

        Nothing is opened before the first chunk is asked for. The iterator raises
        ArtifactMissing first when the object is gone, and ArtifactCorrupted after the last
        chunk when the bytes do not hash to ``digest`` (or do not have ``size`` bytes).
        Consumers write to a temporary place and keep the result only when the iteration ends
        without an error.
        """
        key = self.object_key(digest)
        return self._verified_chunks(key, digest, size, name)

    def _open_for_read(self, key: str, digest: str, name: str) -> Any:
        try:
            with self._errors("read"):
                if self._local:
                    return open(key, "rb")
                return self._fs.open(key, "rb", block_size=CHUNK_SIZE)
        except FileNotFoundError:
            raise ArtifactMissing(
                f"{name} is missing from the artifact store {self._uri} (object {digest})",
                details={"digest": digest},
            ) from None

    def _verified_chunks(
        self, key: str, digest: str, size: int | None, name: str
    ) -> Iterator[bytes]:
        h = hashlib.sha256()
        n = 0
        with self._open_for_read(key, digest, name) as f:
            while True:
                with self._errors("read"):
                    chunk = f.read(CHUNK_SIZE)
                if not chunk:
                    break
                h.update(chunk)
                n += len(chunk)
                yield chunk
        actual = h.hexdigest()
        if actual != digest or (size is not None and n != size):
            raise ArtifactCorrupted(
                f"{name} is corrupted: the stored object {digest} now holds {n} bytes hashing "
                f"to {actual}",
                details={"digest": digest, "actual": actual},
            )

    def check(self, digest: str, *, size: int | None = None) -> tuple[str | None, int]:
        """Re-hash one object: (None | "missing" | "corrupted", bytes read)."""
        n = 0
        try:
            for chunk in self.read(digest, name=f"object {digest}", size=size):
                n += len(chunk)
        except ArtifactMissing:
            return "missing", 0
        except ArtifactCorrupted:
            return "corrupted", n
        return None, n

    # --- maintenance --------------------------------------------------------------------------

    def temporary_uploads(self) -> list[StoredItem]:
        """Every unfinished upload, oldest first: files or objects under ``tmp/`` and, on S3,
        the multipart uploads there that were never completed nor aborted (a killed writer
        leaves one; listings of objects do not show them, but the bucket keeps their parts).

        Example:
            >>> [u.kind for u in store.temporary_uploads()]  # doctest: +SKIP
            ['upload', 'multipart']
        """
        return [f.item for f in self._scan_uploads()]

    def remove_stale_uploads(
        self, older_than: timedelta, *, now: float | None = None, dry_run: bool = False
    ) -> list[StoredItem]:
        """Remove the temporary uploads not written to for ``older_than``; returns them, with
        ``action`` ``removed`` (or ``would_remove`` when ``dry_run``).

        An upload in progress writes continually, so its last write is recent and it is kept;
        the age of each is checked again just before it is removed. Only an upload that
        stalled for longer than ``older_than`` could be removed under its writer, which then
        fails (nothing wrong ever becomes visible). ``timedelta(0)`` removes every leftover:
        only for a store that nothing writes to. ``now`` (epoch seconds) defaults to the clock.

        Example:
            >>> [u.key for u in store.remove_stale_uploads(timedelta(hours=24))]  # doctest: +SKIP
            ['tmp/4f1c...part']
        """
        if older_than < timedelta(0):
            raise InvalidInput(f"the grace period {older_than} is negative")
        cutoff = (time.time() if now is None else now) - older_than.total_seconds()
        done: list[StoredItem] = []
        for found in self._scan_uploads():
            if found.item.modified.timestamp() >= cutoff:
                continue
            if dry_run:
                done.append(replace(found.item, action="would_remove"))
            elif self._remove_upload(found, cutoff):
                done.append(replace(found.item, action="removed"))
        return done

    def objects(self) -> list[StoredItem]:
        """Every complete object, in key order (``key`` is ``objects/ab/cdef...``).

        Example:
            >>> [o.key for o in store.objects()]  # doctest: +SKIP
            ['objects/b9/4d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9']
        """
        root = f"{self._root}/objects"
        found: list[StoredItem] = []
        with self._errors("list"):
            listing = self._listing(root, depth=2)
        for path, size, modified in listing:
            rel = path[len(root) + 1 :]
            if _DIGEST.match(rel.replace("/", "")) and rel[2:3] == "/":
                found.append(StoredItem(f"objects/{rel}", "object", size, _utc(modified)))
        return sorted(found, key=lambda item: item.key)

    @staticmethod
    def digest_of(item: StoredItem) -> str:
        """The digest of an object found by :meth:`objects`."""
        return check_digest(item.key.removeprefix("objects/").replace("/", ""))

    def remove_object(self, digest: str, *, written_before: float) -> bool:
        """Delete the object ``digest`` unless it was (re)written at or after
        ``written_before`` (epoch seconds); True when it was deleted.

        For garbage collection only: the caller has found that nothing refers to it.
        """
        key = self.object_key(digest)
        with self._errors("clean up"):
            try:
                if self._local:
                    if os.stat(key).st_mtime >= written_before:
                        return False
                    os.unlink(key)  # read-only files: unlinking needs the folder writable
                    return True
                info = self._fs.info(key)
                if _utc(info["LastModified"]).timestamp() >= written_before:
                    return False
                self._fs.rm_file(key)
                return True
            except FileNotFoundError:
                return False

    def _scan_uploads(self) -> list[_Found]:
        root = f"{self._root}/tmp"
        found: list[_Found] = []
        with self._errors("list"):
            listing = self._listing(root, depth=1)
            for path, size, modified in listing:
                item = StoredItem(f"tmp/{path[len(root) + 1 :]}", "upload", size, _utc(modified))
                found.append(_Found(item, path))
            if not self._local:
                found.extend(self._multipart_uploads())
        return sorted(found, key=lambda f: f.item.modified)

    def _remove_upload(self, found: _Found, cutoff: float) -> bool:
        """Remove one leftover unless it was written to since it was listed (still alive)."""
        with self._errors("clean up"):
            try:
                if self._local:
                    if os.stat(found.where).st_mtime >= cutoff:
                        return False
                    os.unlink(found.where)
                elif found.upload_id is None:
                    if _utc(self._fs.info(found.where)["LastModified"]).timestamp() >= cutoff:
                        return False
                    self._fs.rm_file(found.where)
                else:
                    bucket, key = _split_bucket(found.where)
                    parts = self._parts(bucket, key, found.upload_id)
                    if parts and max(m for _, m in parts).timestamp() >= cutoff:
                        return False
                    self._s3(
                        "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=found.upload_id
                    )
            except FileNotFoundError:  # finished (renamed, copied) or removed meanwhile
                return False
        return True

    def _listing(self, root: str, depth: int) -> list[tuple[str, int, Any]]:
        """(path, size, modified) of the files below ``root`` (``depth`` levels locally)."""
        return _local_listing(root, depth=depth) if self._local else self._remote_listing(root)

    def _remote_listing(self, root: str) -> list[tuple[str, int, Any]]:
        self._fs.invalidate_cache()
        listing = self._fs.find(root, detail=True)
        return [
            (path, int(info.get("size") or 0), info["LastModified"])
            for path, info in sorted(listing.items())
            if info.get("type") != "directory"
        ]

    def _multipart_uploads(self) -> list[_Found]:
        """Unfinished S3 multipart uploads under ``tmp/``, each dated by its latest part."""
        bucket, prefix = _split_bucket(f"{self._root}/tmp/")
        found: list[_Found] = []
        markers: dict[str, str] = {}
        while True:
            page = self._s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix, **markers)
            for upload in page.get("Uploads") or []:
                key, upload_id = str(upload["Key"]), str(upload["UploadId"])
                try:
                    parts = self._parts(bucket, key, upload_id)
                except FileNotFoundError:  # completed or aborted since it was listed
                    continue
                # Parts show it is alive: Initiated alone would age a long upload as it runs.
                modified = max([_utc(upload["Initiated"]), *(m for _, m in parts)])
                size = sum(n for n, _ in parts)
                rel = key[len(prefix) :]
                item = StoredItem(f"tmp/{rel}", "multipart", size, modified)
                found.append(_Found(item, f"{bucket}/{key}", upload_id))
            if not page.get("IsTruncated"):
                return found
            markers = {
                "KeyMarker": page["NextKeyMarker"],
                "UploadIdMarker": page["NextUploadIdMarker"],
            }

    def _parts(self, bucket: str, key: str, upload_id: str) -> list[tuple[int, datetime]]:
        """(size, last modified) of each uploaded part of a multipart upload."""
        parts: list[tuple[int, datetime]] = []
        marker = 0
        while True:
            page = self._s3(
                "list_parts", Bucket=bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
            )
            parts.extend((int(p["Size"]), _utc(p["LastModified"])) for p in page.get("Parts") or [])
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    def _s3(self, method: str, **kwargs: Any) -> Any:
        """One S3 API call through the file system's own client (and event loop)."""
        from fsspec.asyn import sync

        call: Callable[..., Any] = self._fs._call_s3
        return sync(self._fs.loop, call, method, **kwargs)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Report failures of the storage itself as StoreUnavailable, naming the store."""
        try:
            yield
        except MledError:
            raise
        except FileNotFoundError:
            if action == "read":
                raise  # a missing object: the caller names it
            raise StoreUnavailable(
                f"could not {action} the artifact store {self._uri}: a folder of the store "
                "disappeared while it was being written",
                hint="Check that nothing else deletes files in the artifact store.",
            ) from None
        except Exception as err:
            raise StoreUnavailable(
                f"could not {action} the artifact store {self._uri}: {err}",
                hint="Check that the artifact store is reachable, writable and not full.",
            ) from err


def _verified(
    digest: str, n: int, expected_digest: str | None, expected_size: int | None, stored: int
) -> BlobRef:
    if stored != n:
        raise StoreUnavailable(
            f"the artifact store kept {stored} of {n} bytes written",
            hint="Check that the artifact store is not full, then retry.",
        )
    if expected_size is not None and n != expected_size:
        raise InvalidInput(
            f"the upload has {n} bytes but {expected_size} were announced",
            hint="The file changed while it was being uploaded; log it again.",
        )
    if expected_digest is not None and digest != expected_digest:
        raise InvalidInput(
            f"the uploaded bytes hash to {digest}, not to the announced {expected_digest}",
            hint="The file changed while it was being uploaded; log it again.",
        )
    return BlobRef(digest, n)


def _utc(value: Any) -> datetime:
    """A timestamp (epoch seconds, an aware datetime, or ISO 8601 text) as an aware UTC
    datetime; S3 listings give datetimes or ISO text depending on the call."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    raise TypeError(f"not a timestamp: {value!r}")


def _split_bucket(path: str) -> tuple[str, str]:
    bucket, _, key = path.partition("/")
    return bucket, key


def _local_listing(root: str, depth: int) -> list[tuple[str, int, float]]:
    """(path, size, mtime) of the regular files ``depth`` folder levels below ``root``."""
    out: list[tuple[str, int, float]] = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:  # nothing written yet
        return out
    for entry in entries:
        try:
            if depth > 1 and entry.is_dir(follow_symlinks=False):
                out.extend(_local_listing(entry.path, depth - 1))
            elif depth == 1 and entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                out.append((entry.path, st.st_size, st.st_mtime))
        except FileNotFoundError:  # renamed or removed while listed
            continue
    return out


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(path: str) -> None:
    """Flush the file system holding ``path`` (Linux ``syncfs``; ``sync`` elsewhere)."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
