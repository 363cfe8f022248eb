"""Artifacts, datasets and models through a real server: hostile paths refused with 400
``unsafe_path``, the model registry and lineage over the HTTP backend."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from assets_support import HOSTILE, write_tree

from live_server import LiveServer
from mled.sdk.client import Client
from mled.server.settings import ServerSettings
from mled.service import Services
from mled.store.sql.store import SqlStore

API = "/api/v1"


def test_a_server_refuses_hostile_paths_with_unsafe_path(
    sqlite_uri: str, tmp_path: Path, artifacts_uri: str
) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_text("secret")
    store = SqlStore.open(sqlite_uri)
    try:
        services = Services.for_user(store, "alice")
        token = services.tokens.create("t").token
    finally:
        store.close()
    settings = ServerSettings(store_uri=sqlite_uri, artifacts_uri=artifacts_uri)
    headers = {"Authorization": f"Bearer {token}"}
    with (
        LiveServer(settings) as server,
        httpx.Client(base_url=server.url + API, headers=headers, timeout=30) as http,
    ):
        exp = http.post("/experiments", json={"project": "vision", "name": "api"}).json()
        base = f"/experiments/{exp['id']}"
        digest = hashlib.sha256(b"x").hexdigest()
        raw = {"Content-Type": "application/octet-stream"}
        assert http.put(f"{base}/blobs/{digest}", content=b"x", headers=raw).json() == {
            "digest": digest,
            "size": 1,
        }
        wrong = http.put(f"{base}/blobs/{'0' * 64}", content=b"x", headers=raw)
        assert wrong.status_code == 400, wrong.text
        assert http.post(f"{base}/blobs", content=b"x").status_code == 415
        for name in HOSTILE:
            entry = {"path": name, "digest": digest, "size": 1}
            answers = [
                http.post(f"{base}/artifacts", json={"artifacts": [entry]}),
                http.post(
                    f"{base}/datasets",
                    json={"name": "archive", "manifest": {name: [1, digest]}, "stored": True},
                ),
                http.post(f"{base}/models", json={"artifact_path": name, "name": "model"}),
            ]
            for answer in answers:
                assert answer.status_code == 400, (name, answer.text)
                assert answer.json()["code"] == "unsafe_path", (name, answer.text)
        # A download path never leaves the experiment's artifacts, however it is spelled.
        for raw in [f"%2E%2E/%2E%2E/{canary}", "..%2F..%2Fcanary.txt", "a/%2e%2e/%2e%2e/x"]:
            answer = http.get(f"{base}/artifacts/{raw}")
            assert answer.status_code in (400, 404), (raw, answer.text)
            assert b"secret" not in answer.content
        assert http.get(f"{base}/artifacts").json() == []
        assert http.get("/datasets").json() == []
        assert server.log.server_errors() == []


@pytest.mark.http_backend
def test_models_aliases_and_lineage(asset_client: Client, tmp_path: Path) -> None:
    data = write_tree(tmp_path / "data", {"a.csv": b"x\n1\n", "b.csv": b"x\n2\n"})
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / "weights.bin").write_bytes(os.urandom(4096))
    with asset_client.start_experiment(project="vision", name="train", capture=False) as exp:
        exp.log_dataset(data, "tabular", role="train", store=True)
        path = exp.log_model(tmp_path / "ckpt", "resnet")
    assert path == "models/resnet"
    v1 = asset_client.register_model(exp.id, path, "resnet")
    assert (v1.version, v1.experiment_id, v1.file_count) == (1, exp.id, 1)
    assert asset_client.register_model(exp.id, path, "resnet").id == v1.id
    moved = asset_client.set_model_alias("resnet", "production", 1)
    assert moved.aliases == ["production"]
    assert asset_client.get_model_version("resnet@production").id == v1.id
    (model,) = asset_client.list_models()
    assert model.aliases == {"production": 1}

    tree = asset_client.lineage("resnet@production")
    assert tree.kind == "model_version"
    (experiment,) = tree.children
    assert experiment.kind == "experiment"
    assert [(c.kind, c.ref) for c in experiment.children] == [("dataset_version", "tabular:1")]
    back = asset_client.lineage("tabular:1")
    assert back.kind == "dataset_version"
    assert back.children[0].children[0].ref == "resnet:1"

    asset_client.delete_model_alias("resnet", "production")
    details = asset_client.get_model("resnet")
    assert [(m.alias, m.from_version, m.to_version) for m in details.alias_history] == [
        ("production", None, 1),
        ("production", 1, None),
    ]
    out = asset_client.download_artifacts(exp.id, path, tmp_path / "out")
    assert (out / "weights.bin").read_bytes() == (tmp_path / "ckpt" / "weights.bin").read_bytes()
    assert asset_client.verify_artifacts().ok
