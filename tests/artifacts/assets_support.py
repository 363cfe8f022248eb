"""Helpers of the artifact tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from pathlib import Path

from mled.artifacts.blobstore import BlobStore

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
