"""The content-addressed blob store on a local folder and on S3 (moto)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from assets_support import flip_bit, object_keys

from mled.artifacts.blobstore import CHUNK_SIZE, BlobStore
from mled.artifacts.config import ArtifactConfig
from mled.artifacts.errors import ArtifactCorrupted, ArtifactMissing
from mled.artifacts.files import file_chunks
from mled.artifacts.transfer import write_stream
from mled.errors import InvalidInput, StoreUnavailable
from mled.settings import Settings


def chunks_of(data: bytes, size: int = 100_000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_objects_are_stored_once_under_their_digest(blobs: BlobStore) -> None:
    data = os.urandom(1_000_000)
    first = blobs.put(chunks_of(data))
    second = blobs.put(chunks_of(data, 333))
    assert first == second
    assert first.digest == hashlib.sha256(data).hexdigest()
    assert object_keys(blobs) == [blobs.object_key(first.digest)]
    assert blobs.object_key(first.digest).endswith(f"objects/{first.digest[:2]}/{first.digest[2:]}")
    assert blobs.missing([first.digest, "0" * 64]) == {"0" * 64}


def test_reads_stream_in_bounded_chunks_and_verify(blobs: BlobStore) -> None:
    data = os.urandom(CHUNK_SIZE * 2 + 10)
    ref = blobs.put(chunks_of(data, 1 << 20))
    sizes = [len(c) for c in blobs.read(ref.digest, name="big", size=ref.size)]
    assert max(sizes) <= CHUNK_SIZE
    assert sum(sizes) == len(data)
    assert blobs.check(ref.digest, size=ref.size) == (None, len(data))


def test_a_refused_upload_leaves_nothing_visible(blobs: BlobStore) -> None:
    with pytest.raises(InvalidInput, match="announced"):
        blobs.put(chunks_of(b"abc"), expected_digest="1" * 64)
    with pytest.raises(InvalidInput, match="3 bytes but 4"):
        blobs.put(chunks_of(b"abc"), expected_size=4)

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise OSError("the source disk failed")

    with pytest.raises(OSError, match="source disk failed"):
        blobs.put(failing())
    assert object_keys(blobs) == []


def test_corrupted_and_missing_objects_are_named(blobs: BlobStore) -> None:
    ref = blobs.put(chunks_of(b"weights" * 1000))
    flip_bit(blobs, ref.digest, offset=5)
    with pytest.raises(ArtifactCorrupted, match=r"artifact 'model\.pt' is corrupted"):
        b"".join(blobs.read(ref.digest, name="artifact 'model.pt'"))
    assert blobs.check(ref.digest)[0] == "corrupted"
    blobs.put(chunks_of(b"weights" * 1000))  # the same bytes again repair the object
    assert blobs.check(ref.digest)[0] is None
    with pytest.raises(ArtifactMissing, match="missing from the artifact store"):
        next(blobs.read("a" * 64, name="artifact 'gone.bin'"))
    assert blobs.check("a" * 64) == ("missing", 0)


def test_digests_are_never_paths(tmp_path: Path) -> None:
    blobs = BlobStore.local(tmp_path / "store")
    for bad in ("../" * 10 + "etc/passwd", "A" * 64, "0" * 63, ""):
        with pytest.raises(InvalidInput, match="not a SHA-256 digest"):
            blobs.object_key(bad)


def test_an_unreachable_s3_store_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    blobs = ArtifactConfig(
        "s3://bucket/p",
        endpoint_url="http://127.0.0.1:9",
        storage_options={"config_kwargs": {"retries": {"max_attempts": 1}}},
    ).open()
    with pytest.raises(StoreUnavailable, match="could not write the artifact store s3://bucket/p"):
        blobs.put(chunks_of(b"abc"))


def test_configuration_from_the_environment(tmp_path: Path) -> None:
    env = {
        "MLED_HOME": str(tmp_path),
        "MLED_ARTIFACTS_URI": "s3://team/mled",
        "MLED_S3_ENDPOINT_URL": "http://minio:9000",
    }
    settings = Settings.from_env(env)
    assert (settings.artifact_store_uri, settings.s3_endpoint_url) == (
        "s3://team/mled",
        "http://minio:9000",
    )
    assert Settings.from_env({"MLED_HOME": str(tmp_path)}).artifact_store_uri == str(
        tmp_path / "artifacts"
    )
    with pytest.raises(InvalidInput, match="unsupported scheme 'gs'"):
        ArtifactConfig("gs://bucket/x").open()
    assert ArtifactConfig(f"file://{tmp_path}/a").open().uri == f"{tmp_path}/a"


def test_a_large_file_is_streamed_never_held_in_memory(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(12):
            f.write(os.urandom(4 * 1024 * 1024))
    blobs = BlobStore.local(tmp_path / "store")
    tracemalloc.start()
    try:
        ref = blobs.put(file_chunks(big))
        write_stream(tmp_path / "copy.bin", blobs.read(ref.digest, name="big", size=ref.size))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ref.size == 48 * 1024 * 1024
    assert peak < 3 * CHUNK_SIZE  # a 48 MiB file moved with about one chunk in memory
    assert (tmp_path / "copy.bin").stat().st_size == ref.size


def test_a_store_folder_removed_while_in_use_is_created_again(tmp_path: Path) -> None:
    blobs = BlobStore.local(tmp_path / "store")
    blobs.put(chunks_of(b"first"))
    shutil.rmtree(tmp_path / "store")
    ref = blobs.put(chunks_of(b"first"))
    assert b"".join(blobs.read(ref.digest, name="again")) == b"first"
