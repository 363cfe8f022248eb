"""Acceptance tests of artifacts and datasets, on {SQLite, PostgreSQL} x {local folder, S3}.

Deduplication, dataset versioning, a killed upload, and a bit flipped in a stored object;
the tests marked ``http_backend`` also run through a real server. (Path attacks are in
``test_path_attacks.py``.)
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from assets_support import (
    AssetServer,
    flip_bit,
    object_keys,
    temp_keys,
    wait_for_answer,
    write_tree,
)

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.errors import ArtifactCorrupted, ArtifactMissing
from mled.sdk.client import Client
from mled.settings import Settings

MB = 1024 * 1024


def start(client: Client, name: str = "run"):  # type: ignore[no-untyped-def]
    return client.start_experiment(project="vision", name=name, capture=False)


@pytest.mark.http_backend
def test_the_same_file_in_three_experiments_is_stored_once(
    asset_client: Client, blobs: BlobStore, tmp_path: Path
) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(10 * MB))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    ids = []
    for i in range(3):
        with start(asset_client, f"run{i}") as exp:
            exp.log_artifact(weights, name="model/weights.bin")
        ids.append(exp.id)

    assert len(object_keys(blobs)) == 1
    for exp_id in ids:
        (artifact,) = asset_client.list_artifacts(exp_id)
        assert (artifact.path, artifact.digest, artifact.size) == (
            "model/weights.bin",
            digest,
            10 * MB,
        )
    local = asset_client.download_artifacts(ids[2], "model/weights.bin", tmp_path / "out")
    assert local == tmp_path / "out" / "weights.bin"
    assert hashlib.sha256(local.read_bytes()).hexdigest() == digest


@pytest.mark.http_backend
def test_dataset_versions_follow_content(
    asset_client: Client, blobs: BlobStore, tmp_path: Path
) -> None:
    files = {f"images/{i:02d}.bin": os.urandom(2000) for i in range(10)}
    data = write_tree(tmp_path / "data", {**files, "labels.csv": b"id,label\n1,cat\n"})
    with start(asset_client, "first") as exp:
        v1 = exp.log_dataset(data, "cifar", store=True)
    with start(asset_client, "again") as exp:
        again = exp.log_dataset(data, "cifar", role="validation", store=True)
    assert (v1.version, v1.file_count, v1.stored) == (1, 11, True)
    assert (again.version, again.id, again.digest) == (1, v1.id, v1.digest)

    (data / "images" / "07.bin").write_bytes(b"relabelled")
    with start(asset_client, "changed") as exp:
        v2 = exp.log_dataset(data, "cifar", store=True)
    assert v2.version == 2
    assert v2.digest != v1.digest

    diff = asset_client.diff_dataset("cifar", 1, 2)
    assert (diff.added, diff.removed, diff.changed) == ([], [], ["images/07.bin"])
    assert [v.version for v in asset_client.list_dataset_versions("cifar")] == [1, 2]
    assert len(object_keys(blobs)) == 12  # 11 files of v1 + the changed one

    asset_client.download_dataset("cifar:1", tmp_path / "v1")
    assert (tmp_path / "v1" / "images" / "07.bin").read_bytes() == files["images/07.bin"]
    assert (tmp_path / "v1" / "labels.csv").read_bytes() == b"id,label\n1,cat\n"


CHILD = r"""
import sys, time
import mled.artifacts.transfer as transfer
from mled.artifacts.files import file_chunks
from mled.sdk.client import Client
from mled.settings import Settings

def slow_chunks(path, chunk_size=0):
    for i, chunk in enumerate(file_chunks(path, 1 << 20)):
        if i == 20:
            print("HALFWAY", flush=True)
        if i >= 20:
            time.sleep(0.2)
        yield chunk

transfer.file_chunks = slow_chunks
client = Client(settings=Settings.from_env())
exp = client.start_experiment(project="vision", name="killed", capture=False)
print(exp.id, flush=True)
exp.log_artifact(sys.argv[1], name="big.bin")
print("DONE", flush=True)
"""


@pytest.mark.slow
@pytest.mark.http_backend
def test_an_upload_killed_halfway_leaves_nothing_visible_and_a_retry_succeeds(
    asset_client: Client,
    asset_settings: Settings,
    asset_server: AssetServer | None,
    blobs: BlobStore,
    tmp_path: Path,
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(32 * MB))
    env = {
        **os.environ,
        "MLED_HOME": str(asset_settings.home),
        "MLED_USER": "alice",
        "MLED_HANDLE_SIGNALS": "0",
        "MLED_CAPTURE_ENVIRONMENT": "0",
    }
    if asset_server is None:  # embedded: the child writes to the stores itself
        env["MLED_TRACKING_URI"] = asset_settings.store_uri
        env["MLED_ARTIFACTS_URI"] = asset_settings.artifact_store_uri
        if asset_settings.s3_endpoint_url:
            env["MLED_S3_ENDPOINT_URL"] = asset_settings.s3_endpoint_url
    else:  # through the server, as alice; the child never sees the stores
        env["MLED_TRACKING_URI"] = asset_server.url
        env["MLED_TOKEN"] = asset_server.token
        env["MLED_SPOOL"] = "0"
        for name in ("MLED_ARTIFACTS_URI", "MLED_S3_ENDPOINT_URL"):
            env.pop(name, None)
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(big)], env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            exp_id = child.stdout.readline().strip()
            assert child.stdout.readline().strip() == "HALFWAY"
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    assert asset_client.list_artifacts(exp_id) == []
    assert object_keys(blobs) == []
    if asset_server is None:
        # The killed process leaves its temporary upload (a partial file, or on S3 an
        # unfinished multipart upload); garbage collection finds it. The writer is dead, so
        # a grace period of zero is safe here.
        (leftover,) = temp_keys(blobs)
        (removed,) = blobs.remove_stale_uploads(timedelta(0))
        assert removed.size >= 16 * MB  # at least the first multipart part (S3), or more
        assert leftover.endswith(removed.key)
    else:
        # The server notices the dead connection, discards the partial upload and answers
        # (to nobody) 400 upload_incomplete, not a 5xx: nothing is left, not even in tmp/.
        path = f"/api/v1/experiments/{exp_id}/blobs"
        assert wait_for_answer(asset_server.server, "POST", path) == 400
    assert temp_keys(blobs) == []
    artifact = asset_client.log_artifact(exp_id, big, "big.bin")
    assert artifact.size == 32 * MB
    local = asset_client.download_artifacts(exp_id, "big.bin", tmp_path / "out")
    assert local.read_bytes() == big.read_bytes()
    assert len(object_keys(blobs)) == 1


@pytest.mark.http_backend
def test_a_flipped_bit_is_reported_by_verify_and_by_the_download(
    asset_client: Client, blobs: BlobStore, tmp_path: Path
) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(os.urandom(MB))
    data = write_tree(tmp_path / "data", {"train.csv": b"x\n1\n", "test.csv": b"x\n2\n"})
    with start(asset_client) as exp:
        artifact = exp.log_artifact(model)
        exp.log_dataset(data, "tabular", store=True)
    assert asset_client.verify_artifacts(exp.id).ok

    flip_bit(blobs, artifact.digest, offset=12345)
    report = asset_client.verify_artifacts()
    assert not report.ok
    (problem,) = report.problems
    assert problem.kind == "corrupted"
    assert problem.digest == artifact.digest
    assert problem.names == [f"artifact 'model.pt' of experiment {exp.id}"]
    assert asset_client.verify_artifacts(exp.id).problems == report.problems

    with pytest.raises(ArtifactCorrupted, match=f"artifact 'model.pt' of experiment {exp.id}"):
        asset_client.download_artifacts(exp.id, "model.pt", tmp_path / "out")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []

    # Uploading the original again replaces the damaged object.
    asset_client.log_artifact(exp.id, model)
    assert asset_client.verify_artifacts(exp.id).ok

    csv_digest = hashlib.sha256(b"x\n2\n").hexdigest()
    flip_bit(blobs, csv_digest)
    with pytest.raises(ArtifactCorrupted, match=r"file 'test\.csv' of dataset tabular:1"):
        asset_client.download_dataset("tabular", tmp_path / "data-copy")
    assert not (tmp_path / "data-copy" / "test.csv").exists()


def test_a_missing_object_is_reported_by_name(
    asset_client: Client, blobs: BlobStore, tmp_path: Path
) -> None:
    with start(asset_client) as exp:
        artifact = exp.log_text("hello", "notes/hello.txt")
    key = blobs.object_key(artifact.digest)
    if blobs.is_local:
        os.unlink(key)
    else:
        blobs._fs.rm(key)
    (problem,) = asset_client.verify_artifacts(exp.id).problems
    assert problem.kind == "missing"
    assert "notes/hello.txt" in problem.message
    with pytest.raises(ArtifactMissing, match=r"notes/hello\.txt"):
        asset_client.download_artifacts(exp.id, dest=tmp_path / "out")
