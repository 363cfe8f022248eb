"""Dataset versions in the service layer: content identity, roles, manifests, scoping, audit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import DatasetSpec, FileEntry
from mled.artifacts.errors import DatasetNotFound
from mled.entities import NewExperiment
from mled.errors import AmbiguousId, Conflict, InvalidInput, InvalidName
from mled.service import Services
from mled.store.sql.store import SqlStore


@pytest.fixture
def svc(store: SqlStore, tmp_path: Path) -> Services:
    return Services.for_user(store, "alice", BlobStore.local(tmp_path / "blobs"))


def _experiment(svc: Services, project: str = "vision") -> str:
    return svc.experiments.create(NewExperiment(project=project, name="run")).id


def _file(content: bytes) -> FileEntry:
    return FileEntry(len(content), hashlib.sha256(content).hexdigest())


V1 = {"train.csv": _file(b"a,b\n1,2\n"), "test.csv": _file(b"a,b\n3,4\n")}
V2 = {**V1, "test.csv": _file(b"a,b\n3,5\n"), "extra.csv": _file(b"e\n")}


def test_the_same_content_reuses_its_version_and_new_content_gets_the_next(
    svc: Services,
) -> None:
    exp = _experiment(svc)
    first = svc.datasets.log(exp, DatasetSpec("tabular", V1))
    again = svc.datasets.log(exp, DatasetSpec("tabular", dict(reversed(V1.items()))))
    second = svc.datasets.log(exp, DatasetSpec("tabular", V2, role="validation"))
    back = svc.datasets.log(_experiment(svc), DatasetSpec("tabular", V1, role="test"))
    assert [first.version, again.version, second.version, back.version] == [1, 1, 2, 1]
    assert back.id == first.id
    assert [v.version for v in svc.datasets.versions("tabular")] == [1, 2]
    diff = svc.datasets.diff("tabular", 1, 2)
    assert (diff.added, diff.removed, diff.changed) == (["extra.csv"], [], ["test.csv"])
    uses = svc.datasets.uses(exp)
    assert [(u.dataset.version, u.role) for u in uses] == [(1, "train"), (2, "validation")]


def test_search_finds_experiments_by_the_role_of_their_datasets(svc: Services) -> None:
    trained, validated, unused = _experiment(svc), _experiment(svc), _experiment(svc)
    svc.datasets.log(trained, DatasetSpec("tabular", V1))
    svc.datasets.log(validated, DatasetSpec("tabular", V1))
    svc.datasets.log(validated, DatasetSpec("tabular", V2, role="validation"))

    def found(query: str) -> set[str]:
        return {e.id for e in svc.search.search(query).items}

    assert found("dataset.role = 'validation'") == {validated}
    assert found("datasets.context = 'train'") == {trained, validated}  # MLflow's name
    assert found("not dataset.role = 'validation'") == {trained, unused}
    assert found("dataset.role = 'train' and dataset.version = 2") == {validated}


def test_every_change_is_an_audit_event(svc: Services) -> None:
    exp = _experiment(svc)
    svc.datasets.log(exp, DatasetSpec("tabular", V1))
    svc.datasets.log(exp, DatasetSpec("tabular", V1))  # nothing new: no event
    actions = [e.action for e in svc.audit.events(limit=1000)]
    assert actions[-3:] == ["dataset.create", "dataset.version.create", "dataset.use"]
    created = next(e for e in svc.audit.events(limit=1000) if e.action == "dataset.version.create")
    assert created.after["digest"] == svc.datasets.get_version("tabular:1").digest
    assert svc.audit.verify().ok


def test_storing_bytes_needs_them_in_the_store_and_upgrades_a_version(svc: Services) -> None:
    exp = _experiment(svc)
    with pytest.raises(InvalidInput, match="is not in the artifact store"):
        svc.datasets.log(exp, DatasetSpec("tabular", V1, stored=True))
    assert svc.datasets.list() == []
    assert not svc.datasets.log(exp, DatasetSpec("tabular", V1)).stored
    uploader = svc.artifacts.uploader(exp)
    for content in (b"a,b\n1,2\n", b"a,b\n3,4\n"):
        uploader.put(iter([content]))
    stored = svc.datasets.log(exp, DatasetSpec("tabular", V1, stored=True))
    assert (stored.version, stored.stored) == (1, True)
    assert "dataset.store" in [e.action for e in svc.audit.events(limit=1000)]
    _version, files = svc.datasets.read_files("tabular:1")
    assert {path: b"".join(chunks) for path, chunks in files} == {
        "test.csv": b"a,b\n3,4\n",
        "train.csv": b"a,b\n1,2\n",
    }


def test_a_version_without_bytes_cannot_be_downloaded(svc: Services) -> None:
    exp = _experiment(svc)
    svc.datasets.log(exp, DatasetSpec("remote", None, source_uri="s3://bucket/data"))
    with pytest.raises(Conflict, match="without its bytes"):
        svc.datasets.read_files("remote")
    with pytest.raises(InvalidInput, match="only by its URI"):
        svc.datasets.log(exp, DatasetSpec("remote", None, "s3://bucket/data", stored=True))


MALFORMED = [
    (DatasetSpec("x", {"a//b.csv": _file(b"1"), "a/b.csv": _file(b"1")}), InvalidInput, "twice"),
    (DatasetSpec("x", {"a.csv": FileEntry(-1, "0" * 64)}), InvalidInput, "size"),
    (DatasetSpec("x", {"a.csv": FileEntry(1, "XYZ")}), InvalidInput, "SHA-256"),
    (DatasetSpec("x", {}), InvalidInput, "no files"),
    (DatasetSpec("x", None), InvalidInput, "neither files nor a source"),
    (DatasetSpec("x", V1, role="holdout"), InvalidInput, "role"),
    (DatasetSpec("bad name", V1), InvalidName, "dataset name"),
    (DatasetSpec("x", None, source_uri="s3://b/\x00"), InvalidInput, "control"),
]


def test_malformed_datasets_are_refused(svc: Services) -> None:
    exp = _experiment(svc)
    for spec, error, match in MALFORMED:
        with pytest.raises(error, match=match):
            svc.datasets.log(exp, spec)
    assert svc.datasets.list() == []


def test_names_are_scoped_by_project(svc: Services) -> None:
    svc.datasets.log(_experiment(svc, "vision"), DatasetSpec("shared", V1))
    svc.datasets.log(_experiment(svc, "nlp"), DatasetSpec("shared", V2))
    with pytest.raises(AmbiguousId, match="2 projects have a dataset named 'shared'") as err:
        svc.datasets.versions("shared")
    assert err.value.details["candidates"] == ["nlp", "vision"]
    assert svc.datasets.get_version("shared", project="nlp").digest != (
        svc.datasets.get_version("shared", project="vision").digest
    )
    assert [d.project for d in svc.datasets.list("nlp")] == ["nlp"]
    with pytest.raises(DatasetNotFound, match="no version 7; the latest is 1"):
        svc.datasets.get_version("shared:7", project="nlp")
    with pytest.raises(DatasetNotFound):
        svc.datasets.versions("unknown")
