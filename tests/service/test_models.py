"""The model registry in the service layer: versions, aliases, history, permissions, audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import ArtifactEntry
from mled.artifacts.errors import ArtifactNotFound, ModelNotFound
from mled.entities import NewExperiment
from mled.errors import InvalidName, PermissionDenied
from mled.service import Services
from mled.store.sql.store import SqlStore


@pytest.fixture
def svc(store: SqlStore, tmp_path: Path) -> Services:
    return Services.for_user(store, "alice", BlobStore.local(tmp_path / "blobs"))


def _trained(svc: Services, files: dict[str, bytes]) -> str:
    exp = svc.experiments.create(NewExperiment(project="vision", name="train")).id
    uploader = svc.artifacts.uploader(exp)
    entries = []
    for path, data in files.items():
        ref = uploader.put(iter([data]))
        entries.append(ArtifactEntry(path, ref.digest, ref.size))
    svc.artifacts.register(exp, entries)
    return exp


def test_versions_aliases_and_their_history(svc: Services) -> None:
    exp1 = _trained(svc, {"models/resnet/weights.bin": b"w1", "models/resnet/config.json": b"{}"})
    exp2 = _trained(svc, {"model.bin": b"w2"})
    v1 = svc.models.register(exp1, "models/resnet/", "resnet")
    assert (v1.version, v1.file_count, v1.size, v1.artifact_path) == (1, 2, 4, "models/resnet")
    assert svc.models.register(exp1, "models/resnet", "resnet") == v1  # same content: same
    v2 = svc.models.register(exp2, "model.bin", "resnet")
    assert (v2.version, v2.experiment_id) == (2, exp2)

    assert svc.models.set_alias("resnet", "production", 1).aliases == ["production"]
    svc.models.set_alias("resnet", "production", 2)
    svc.models.set_alias("resnet", "staging", 1)
    svc.models.delete_alias("resnet", "staging")
    assert svc.models.get_version("resnet@production").version == 2
    assert svc.models.get_version("resnet:1").aliases == []
    assert svc.models.get_version("resnet").version == 2

    details = svc.models.get("resnet")
    assert details.model.aliases == {"production": 2}
    assert [(m.alias, m.from_version, m.to_version) for m in details.alias_history] == [
        ("production", None, 1),
        ("production", 1, 2),
        ("staging", None, 1),
        ("staging", 1, None),
    ]
    assert [m.latest_version for m in svc.models.list()] == [2]
    actions = [e.action for e in svc.audit.events(limit=1000) if e.action.startswith("model.")]
    assert actions == [
        "model.create",
        "model.version.register",
        "model.version.register",
        "model.alias.set",
        "model.alias.set",
        "model.alias.set",
        "model.alias.delete",
    ]


def test_only_roles_with_register_model_may_register_or_move_aliases(
    svc: Services, store: SqlStore
) -> None:
    exp = _trained(svc, {"model.bin": b"w"})
    svc.models.register(exp, "model.bin", "resnet")
    svc.users.create("dana")
    svc.users.set_role("vision", "dana", "data_scientist")
    svc.users.create("eric")
    svc.users.set_role("vision", "eric", "ml_engineer")
    scientist = Services.for_user(store, "dana", svc.artifacts.blobs)
    engineer = Services.for_user(store, "eric", svc.artifacts.blobs)

    with pytest.raises(PermissionDenied, match="'register_model'"):
        scientist.models.register(exp, "model.bin", "other")
    with pytest.raises(PermissionDenied, match="'register_model'"):
        scientist.models.set_alias("resnet", "production", 1)
    assert scientist.models.get_version("resnet").version == 1  # reading is allowed
    assert engineer.models.register(exp, "model.bin", "other").version == 1
    assert engineer.models.set_alias("resnet", "production", 1).aliases == ["production"]
    denied = [e for e in svc.audit.events(limit=1000) if e.action == "permission.denied"]
    assert len(denied) == 2
    assert denied[0].actor == "dana"


def test_clear_errors_for_what_does_not_exist(svc: Services) -> None:
    exp = _trained(svc, {"model.bin": b"w"})
    with pytest.raises(ArtifactNotFound, match="no artifact at or under 'missing'"):
        svc.models.register(exp, "missing", "resnet")
    svc.models.register(exp, "model.bin", "resnet")
    with pytest.raises(ModelNotFound, match="no version 9"):
        svc.models.set_alias("resnet", "production", 9)
    with pytest.raises(ModelNotFound, match="no alias 'production'"):
        svc.models.get_version("resnet@production")
    with pytest.raises(ModelNotFound, match="no model is named 'vgg'"):
        svc.models.get("vgg")
    with pytest.raises(InvalidName, match="alias '3'"):
        svc.models.set_alias("resnet", "3", 1)
