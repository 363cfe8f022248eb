"""Reading local files and folders for upload: chunks, hashes, manifests, safe folder walks.

Folders are walked without following links: a symlink (or a FIFO, socket or device) inside an
uploaded folder is refused with UnsafePath naming it, so an upload never reads outside the
folder it was given. Hashing runs in threads (``hashlib`` releases the GIL on large buffers).

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.txt").write_bytes(b"abc")
    >>> [rel for rel, _ in walk_files(folder)]
    ['a.txt']
    >>> hash_file(folder / "a.txt").sha256[:12]
    'ba7816bf8f01'
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from mled.artifacts.entities import FileEntry
from mled.errors import InvalidInput, UnsafePath
from mled.paths import normalize_path

CHUNK_SIZE = 4 * 1024 * 1024
"""Bytes per chunk read from a file for upload."""
HASH_BUFFER = 1024 * 1024
DEFAULT_WORKERS = min(8, max(2, os.cpu_count() or 2))
"""Threads that hash or upload files of a folder in parallel."""

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")
T = TypeVar("T")
R = TypeVar("R")


def is_uri(text: str) -> bool:
    """Whether ``text`` is a URI (``s3://...``, ``https://...``) rather than a local path.

    Example:
        >>> is_uri("s3://bucket/data"), is_uri("data/train")
        (True, False)
    """
    return bool(_URI.match(text))


def file_chunks(path: Path, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The bytes of a file in chunks (never the whole file at once)."""
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            yield chunk


def hash_file(path: Path) -> FileEntry:
    """Size and SHA-256 of a file, streaming through one reused buffer."""
    h = hashlib.sha256()
    buf = bytearray(HASH_BUFFER)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return FileEntry(size, h.hexdigest())


def walk_files(folder: Path) -> list[tuple[str, Path]]:
    """(normalized relative path, local path) of every regular file under ``folder``, sorted.

    Symlinks and special files inside the folder are refused, as are names that are not
    safe logical paths (a backslash or colon in a file name, for example).
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput(f"{str(folder)!r} is not a folder")
    out: list[tuple[str, Path]] = []
    stack: list[tuple[str, Path]] = [("", root)]
    while stack:
        rel_dir, local_dir = stack.pop()
        with os.scandir(local_dir) as entries:
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    raise UnsafePath(
                        f"{rel!r} in {str(folder)!r} is a symlink; uploaded folders may not "
                        "contain links",
                        hint="Copy the linked file into the folder, or upload it on its own.",
                    )
                if stat.S_ISDIR(mode):
                    stack.append((rel, Path(entry.path)))
                elif stat.S_ISREG(mode):
                    out.append((normalize_path(rel, f"file in {str(folder)!r}"), Path(entry.path)))
                else:
                    raise UnsafePath(f"{rel!r} in {str(folder)!r} is not a regular file")
    out.sort()
    return out


def parallel_map(
    fn: Callable[[T], R], items: Sequence[T], workers: int = DEFAULT_WORKERS
) -> list[R]:
    """``[fn(x) for x in items]`` on a thread pool (in order).

    The first error propagates once the calls already running have finished; the calls not
    yet started are cancelled.
    """
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    def run(batch: Sequence[T]) -> list[R]:
        return [fn(x) for x in batch]

    size = max(1, min(64, len(items) // (workers * 8)))  # batches keep per-task overhead low
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(run, items[i : i + size]) for i in range(0, len(items), size)]
        return [r for f in futures for r in f.result()]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def hash_files(
    files: Sequence[tuple[str, Path]], workers: int = DEFAULT_WORKERS
) -> dict[str, FileEntry]:
    """The manifest of ``files``: relative path -> (size, SHA-256)."""
    entries = parallel_map(lambda item: hash_file(item[1]), files, workers)
    return {rel: entry for (rel, _), entry in zip(files, entries, strict=True)}
