"""Artifacts in the service layer: registration rules, store checks, reads, permissions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import ArtifactEntry
from mled.artifacts.errors import ArtifactConflict, ArtifactNotFound
from mled.entities import NewExperiment
from mled.errors import InvalidInput, PermissionDenied, StoreUnavailable
from mled.service import Services
from mled.store.sql.store import SqlStore


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore.local(tmp_path / "blobs")


@pytest.fixture
def svc(store: SqlStore, blobs: BlobStore) -> Services:
    return Services.for_user(store, "alice", blobs)


def _experiment(svc: Services, project: str = "vision") -> str:
    return svc.experiments.create(NewExperiment(project=project, name="run")).id


def _entry(svc: Services, exp_id: str, path: str, data: bytes) -> ArtifactEntry:
    ref = svc.artifacts.uploader(exp_id).put(iter([data]))
    return ArtifactEntry(path, ref.digest, ref.size)


def test_registering_the_same_content_again_is_a_no_op_and_other_content_conflicts(
    svc: Services,
) -> None:
    exp = _experiment(svc)
    entry = _entry(svc, exp, "model.bin", b"v1")
    (first,) = svc.artifacts.register(exp, [entry])
    (again,) = svc.artifacts.register(exp, [entry])
    assert again == first
    events = [e for e in svc.audit.events(limit=1000) if e.action == "artifacts.log"]
    assert [e.after for e in events] == [{"model.bin": [entry.digest, 2]}]
    with pytest.raises(ArtifactConflict, match="already holds other content"):
        svc.artifacts.register(exp, [_entry(svc, exp, "model.bin", b"v2")])


def test_a_path_cannot_be_both_a_file_and_a_folder(svc: Services) -> None:
    exp = _experiment(svc)
    svc.artifacts.register(exp, [_entry(svc, exp, "out/model", b"file")])
    with pytest.raises(ArtifactConflict, match="both a file and a folder"):
        svc.artifacts.register(exp, [_entry(svc, exp, "out/model/weights.bin", b"w")])
    with pytest.raises(ArtifactConflict, match="both a file and a folder"):
        svc.artifacts.register(exp, [_entry(svc, exp, "out", b"x")])


def test_registration_checks_that_the_store_holds_the_object(svc: Services) -> None:
    exp = _experiment(svc)
    unknown = hashlib.sha256(b"never uploaded").hexdigest()
    with pytest.raises(InvalidInput, match="is not in the artifact store"):
        svc.artifacts.register(exp, [ArtifactEntry("a.bin", unknown, 14)])
    entry = _entry(svc, exp, "a.bin", b"four")
    with pytest.raises(InvalidInput, match="has 4 bytes"):
        svc.artifacts.register(exp, [ArtifactEntry("a.bin", entry.digest, 5)])
    with pytest.raises(InvalidInput, match="appears twice"):
        svc.artifacts.register(exp, [entry, ArtifactEntry("./a.bin", entry.digest, 4)])
    assert svc.artifacts.list(exp) == []


def test_an_upload_with_the_wrong_digest_leaves_nothing_behind(
    svc: Services, blobs: BlobStore, tmp_path: Path
) -> None:
    exp = _experiment(svc)
    with pytest.raises(InvalidInput, match="changed while it was being uploaded"):
        svc.artifacts.upload(exp, "a.bin", iter([b"abc"]), digest="0" * 64)
    assert not blobs.exists(hashlib.sha256(b"abc").hexdigest())
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []


def test_listing_by_folder_and_reading_verified_bytes(svc: Services) -> None:
    exp = _experiment(svc)
    entries = [
        _entry(svc, exp, "models/a.bin", b"a"),
        _entry(svc, exp, "models/b/c.bin", b"c"),
        _entry(svc, exp, "models2/x.bin", b"x"),
    ]
    svc.artifacts.register(exp, entries)
    assert [a.path for a in svc.artifacts.list(exp, "models")] == [
        "models/a.bin",
        "models/b/c.bin",
    ]
    artifact, chunks = svc.artifacts.read(exp, "models/b/c.bin")
    assert (artifact.size, b"".join(chunks)) == (1, b"c")
    with pytest.raises(ArtifactNotFound, match="it is a folder"):
        svc.artifacts.read(exp, "models/b")
    with pytest.raises(ArtifactNotFound):
        svc.artifacts.read_many(exp, "nothing/here")


def test_artifacts_can_be_added_to_an_ended_experiment(svc: Services) -> None:
    exp = _experiment(svc)
    svc.experiments.end(exp)
    assert svc.artifacts.upload(exp, "late/report.txt", iter([b"ok"])).path == "late/report.txt"


def test_only_members_who_may_log_can_upload(svc: Services, store: SqlStore) -> None:
    exp = _experiment(svc)
    svc.artifacts.upload(exp, "a.txt", iter([b"a"]))
    svc.users.create("audrey")
    svc.users.set_role("vision", "audrey", "auditor")
    auditor = Services.for_user(store, "audrey", svc.artifacts.blobs)
    with pytest.raises(PermissionDenied, match="lacks the 'edit_any' permission"):
        auditor.artifacts.uploader(exp)
    assert [a.path for a in auditor.artifacts.list(exp)] == ["a.txt"]
    svc.users.create("mallory")
    outsider = Services.for_user(store, "mallory", svc.artifacts.blobs)
    with pytest.raises(PermissionDenied):
        outsider.artifacts.list(exp)


def test_without_an_artifact_store_the_error_says_how_to_configure_one(store: SqlStore) -> None:
    svc = Services.for_user(store, "alice")
    exp = _experiment(svc)
    with pytest.raises(StoreUnavailable, match="no artifact store") as err:
        svc.artifacts.uploader(exp)
    assert "MLED_ARTIFACTS_URI" in err.value.hint
