"""Hostile artifact paths, archive member names, symlinks and URIs are refused end to end, and
nothing outside the stores is read or written (a canary file beside them stays untouched)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from assets_support import HOSTILE, object_keys, write_tree

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import ArtifactEntry, DatasetSpec, FileEntry
from mled.entities import NewExperiment
from mled.errors import InvalidInput, UnsafePath
from mled.sdk.client import Client
from mled.service import Services
from mled.store.sql.store import SqlStore

CANARY = b"do not touch"


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    """A file outside every store, checked unchanged (content and mtime) after the test."""
    path = tmp_path / "canary.txt"
    path.write_bytes(CANARY)
    before = path.stat().st_mtime_ns
    yield path
    assert path.read_bytes() == CANARY
    assert path.stat().st_mtime_ns == before
    assert not list(tmp_path.parent.rglob("escape.txt"))


def test_more_than_twenty_hostile_paths_are_listed() -> None:
    assert len(set(HOSTILE)) >= 20


def test_the_sdk_refuses_every_hostile_artifact_name(
    asset_client: Client, blobs: BlobStore, canary: Path
) -> None:
    with asset_client.start_experiment(project="vision", capture=False) as exp:
        for path in HOSTILE:
            with pytest.raises(UnsafePath):
                exp.log_artifact(canary, name=path)
            with pytest.raises(UnsafePath):
                exp.log_text("x", path)
            if path:  # an empty folder means "everything" to a download
                with pytest.raises(UnsafePath):
                    asset_client.download_artifacts(exp.id, path, canary.parent / "out")
    assert asset_client.list_artifacts(exp.id) == []
    assert object_keys(blobs) == []


def _hostile_tar() -> list[str]:
    """Member names of a tar archive built from the hostile paths (names only, never extracted)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in HOSTILE:
            if name and "\x00" not in name:
                info = tarfile.TarInfo(name)
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        return [m.name for m in tar.getmembers()]


def test_the_service_refuses_hostile_paths_and_archive_members_from_any_client(
    store_uri: str, tmp_path: Path, canary: Path
) -> None:
    store = SqlStore.open(store_uri)
    blobs = BlobStore.local(tmp_path / "store")
    services = Services.for_user(store, "alice", blobs)
    try:
        exp = services.experiments.create(NewExperiment(project="vision", name="api"))
        ref = services.artifacts.uploader(exp.id).put(iter([b"x"]))
        members = _hostile_tar()
        assert len(members) >= 20
        for name in [*HOSTILE, *members]:
            with pytest.raises(UnsafePath):
                services.artifacts.register(exp.id, [ArtifactEntry(name, ref.digest, 1)])
            with pytest.raises(UnsafePath):
                services.datasets.log(
                    exp.id, DatasetSpec("archive", {name: FileEntry(1, ref.digest)})
                )
            with pytest.raises(UnsafePath):
                services.models.register(exp.id, name, "model")
        with pytest.raises(InvalidInput):  # a digest is never a path either
            services.artifacts.register(exp.id, [ArtifactEntry("ok.txt", "../" * 21 + "x", 1)])
        assert services.artifacts.list(exp.id) == []
        assert services.datasets.list() == []
    finally:
        store.close()


def test_symlinks_in_uploaded_folders_are_refused(
    asset_client: Client, blobs: BlobStore, tmp_path: Path, canary: Path
) -> None:
    folder = write_tree(tmp_path / "outputs", {"metrics.json": b"{}", "sub/plot.png": b"png"})
    os.symlink(canary, folder / "sub" / "leak.txt")
    with asset_client.start_experiment(project="vision", capture=False) as exp:
        with pytest.raises(UnsafePath, match=r"leak\.txt"):
            exp.log_artifacts(folder)
        with pytest.raises(UnsafePath, match="symlink"):
            exp.log_dataset(folder, "outputs", store=True)
        (folder / "sub" / "leak.txt").unlink()
        os.symlink(tmp_path, folder / "up")
        with pytest.raises(UnsafePath, match="up"):
            exp.log_artifacts(folder)
    assert asset_client.list_artifacts(exp.id) == []
    assert asset_client.list_datasets() == []
    assert object_keys(blobs) == []


def test_downloads_never_write_through_a_planted_symlink(
    asset_client: Client, tmp_path: Path, canary: Path
) -> None:
    with asset_client.start_experiment(project="vision", capture=False) as exp:
        exp.log_text("payload", "reports/canary.txt")
    dest = tmp_path / "dest"
    dest.mkdir()
    os.symlink(tmp_path, dest / "reports")  # reports/canary.txt would land on the canary
    with pytest.raises(UnsafePath, match="symlink"):
        asset_client.download_artifacts(exp.id, dest=dest)


def test_a_dataset_uri_is_recorded_and_never_opened(
    asset_client: Client, blobs: BlobStore, canary: Path
) -> None:
    uri = f"file://{canary}"
    with asset_client.start_experiment(project="vision", capture=False) as exp:
        version = exp.log_dataset(uri, "external", role="test")
        with pytest.raises(InvalidInput, match="never opens"):
            exp.log_dataset(uri, "external", store=True)
    assert (version.source_uri, version.file_count, version.stored) == (uri, 0, False)
    assert version.digest == hashlib.sha256(b"uri:" + uri.encode()).hexdigest()
    assert object_keys(blobs) == []
