"""Lineage trees over experiments, dataset versions and model versions; manifest tampering."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import update

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import ArtifactEntry, DatasetSpec, FileEntry, LineageNode
from mled.entities import NewExperiment
from mled.errors import AmbiguousId, NotFound
from mled.service import Services
from mled.store.sql.store import SqlStore
from mled.store.sql.tables import dataset_versions


@pytest.fixture
def svc(store: SqlStore, tmp_path: Path) -> Services:
    return Services.for_user(store, "alice", BlobStore.local(tmp_path / "blobs"))


def _file(content: bytes) -> FileEntry:
    return FileEntry(len(content), hashlib.sha256(content).hexdigest())


def _run(svc: Services, name: str, commit: str, datasets: dict[str, tuple[str, bytes]]) -> str:
    """An experiment with a code version that used ``datasets`` {name: (role, content)} and
    registered its model as version N of ``resnet``."""
    exp = svc.experiments.create(
        NewExperiment(project="vision", name=name, source={"commit": commit, "dirty": False})
    ).id
    for ds, (role, content) in datasets.items():
        svc.datasets.log(exp, DatasetSpec(ds, {"data.bin": _file(content)}, role=role))
    ref = svc.artifacts.uploader(exp).put(iter([name.encode()]))
    svc.artifacts.register(exp, [ArtifactEntry("model.pt", ref.digest, ref.size)])
    svc.models.register(exp, "model.pt", "resnet")
    return exp


def _shape(node: LineageNode) -> tuple[str, str, list[object]]:
    return (node.kind, node.relation, [_shape(c) for c in node.children])


def test_a_model_version_leads_to_its_experiment_code_and_datasets(svc: Services) -> None:
    exp = _run(svc, "first", "abc123", {"cifar": ("train", b"c1"), "holdout": ("test", b"h")})
    svc.models.set_alias("resnet", "production", 1)
    tree = svc.lineage.lineage("resnet@production")
    assert (tree.ref, tree.label) == ("resnet:1", "model resnet:1 @production")
    (experiment,) = tree.children
    assert (experiment.ref, experiment.relation) == (exp, "registered from")
    assert experiment.details["code"]["commit"] == "abc123"
    assert [(c.ref, c.relation) for c in experiment.children] == [
        ("cifar:1", "used as train"),
        ("holdout:1", "used as test"),
    ]


def test_a_dataset_version_leads_to_every_experiment_and_model_derived_from_it(
    svc: Services,
) -> None:
    first = _run(svc, "first", "a", {"cifar": ("train", b"c1")})
    second = _run(svc, "second", "b", {"cifar": ("validation", b"c1")})
    _run(svc, "third", "c", {"cifar": ("train", b"c2")})  # version 2: not in the tree
    tree = svc.lineage.lineage("cifar:1")
    assert [(c.ref, c.relation) for c in tree.children] == [
        (first, "used by (train)"),
        (second, "used by (validation)"),
    ]
    assert [[m.ref for m in c.children] for c in tree.children] == [["resnet:1"], ["resnet:2"]]


def test_an_experiment_shows_its_inputs_and_outputs(svc: Services) -> None:
    exp = _run(svc, "first", "a", {"cifar": ("train", b"c1")})
    tree = svc.lineage.lineage(exp[:13])
    assert _shape(tree) == (
        "experiment",
        "",
        [("dataset_version", "used as train", []), ("model_version", "registered as", [])],
    )
    assert tree.details["artifacts"] == 1
    assert svc.lineage.lineage(f"experiment:{exp}").ref == exp


def test_a_name_that_is_both_a_dataset_and_a_model_must_be_qualified(svc: Services) -> None:
    _run(svc, "first", "a", {"resnet": ("train", b"weights-as-data")})
    with pytest.raises(AmbiguousId, match="both a dataset version and a model version"):
        svc.lineage.lineage("resnet:1")
    assert svc.lineage.lineage("dataset:resnet:1").kind == "dataset_version"
    assert svc.lineage.lineage("model:resnet:1").kind == "model_version"
    with pytest.raises(AmbiguousId):
        svc.lineage.lineage("resnet")
    with pytest.raises(NotFound, match="no experiment, dataset or model matches 'nothing'"):
        svc.lineage.lineage("nothing")


def test_verify_reports_a_manifest_edited_after_it_was_recorded(
    svc: Services, store: SqlStore
) -> None:
    exp = svc.experiments.create(NewExperiment(project="vision", name="run")).id
    ref = svc.artifacts.uploader(exp).put(iter([b"rows"]))
    svc.datasets.log(exp, DatasetSpec("tabular", {"a.csv": FileEntry(4, ref.digest)}, stored=True))
    assert svc.lineage.verify().ok
    forged = f'{{"a.csv":[4,"{ref.digest}"],"b.csv":[4,"{ref.digest}"]}}'
    store.write(lambda conn: conn.execute(update(dataset_versions).values(manifest=forged)))
    (problem,) = svc.lineage.verify(exp).problems
    assert problem.kind == "manifest_altered"
    assert "dataset tabular:1" in problem.message
