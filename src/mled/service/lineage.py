"""Lineage trees over the graph experiments -> dataset versions / model versions, and
integrity checks that re-hash the stored bytes the graph refers to.

References: ``MODEL@alias``, ``MODEL:V`` or ``model:MODEL`` (a model version);
``DATASET:V`` or ``dataset:DATASET`` (a dataset version); an experiment ID or prefix, or
``experiment:ID``. ``NAME:V`` names a dataset version when a dataset has that name, else a
model version.

Example:
    >>> tree = services.lineage.lineage("resnet@production")  # doctest: +SKIP
    >>> [c.kind for c in tree.children]  # doctest: +SKIP
    ['experiment']
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import (
    DatasetVersion,
    IntegrityProblem,
    IntegrityReport,
    LineageNode,
    ModelVersion,
    manifest_digest,
    parse_manifest,
)
from mled.artifacts.errors import DatasetNotFound, ModelNotFound
from mled.artifacts.refs import Ref, parse_ref
from mled.errors import AmbiguousId, ExperimentNotFound, InvalidInput, NotFound
from mled.service.artifacts import readable_experiment, readable_projects, require_blobs
from mled.service.context import ServiceContext
from mled.service.datasets import DatasetService
from mled.service.models import ModelService
from mled.store.sql import artifacts as artifact_rows
from mled.store.sql import datasets as dataset_rows
from mled.store.sql import experiments as experiment_rows
from mled.store.sql import models as model_rows

VERIFY_THREADS = 4


def model_node(v: ModelVersion, relation: str = "") -> LineageNode:
    label = f"model {v.ref}" + (f" @{', @'.join(v.aliases)}" if v.aliases else "")
    details = {
        "project": v.project,
        "artifact_path": v.artifact_path,
        "digest": v.digest,
        "size": v.size,
        "files": v.file_count,
        "registered_by": v.created_by,
        "registered_at": v.created_at,
    }
    return LineageNode("model_version", v.ref, label, relation, details)


def dataset_node(v: DatasetVersion, relation: str = "") -> LineageNode:
    details = {
        "project": v.project,
        "digest": v.digest,
        "files": v.file_count,
        "size": v.size,
        "stored": v.stored,
        "source": v.source_uri,
    }
    return LineageNode("dataset_version", v.ref, f"dataset {v.ref}", relation, details)


class LineageService:
    """Lineage trees and integrity verification."""

    def __init__(self, ctx: ServiceContext, blobs: BlobStore | None) -> None:
        self._ctx = ctx
        self._blobs = blobs
        self._models = ModelService(ctx)
        self._datasets = DatasetService(ctx, blobs)

    # --- lineage ------------------------------------------------------------------------------

    def lineage(self, ref: str) -> LineageNode:
        """The lineage tree of a model version, dataset version or experiment."""
        text = ref.strip()
        return self._ctx.read(lambda conn: self._tree(conn, text))

    def _tree(self, conn: Connection, text: str) -> LineageNode:
        kind, _, rest = text.partition(":")
        if kind in ("model", "dataset", "experiment") and rest:
            return self._explicit(conn, kind, rest)
        if "@" in text:
            return self._model_tree(conn, parse_ref(text, "model"))
        if ":" in text:
            return self._ambiguous_name(conn, parse_ref(text, "dataset", allow_alias=False))
        try:
            return self._experiment_tree(conn, text)
        except (ExperimentNotFound, InvalidInput):
            pass
        return self._ambiguous_name(conn, parse_ref(text, "model"), bare=True)

    def _explicit(self, conn: Connection, kind: str, rest: str) -> LineageNode:
        if kind == "model":
            return self._model_tree(conn, parse_ref(rest, "model"))
        if kind == "dataset":
            return self._dataset_tree(conn, parse_ref(rest, "dataset", allow_alias=False))
        return self._experiment_tree(conn, rest)

    def _ambiguous_name(self, conn: Connection, ref: Ref, *, bare: bool = False) -> LineageNode:
        """A ``NAME:V`` (or bare name) that may be a dataset or a model version."""
        trees: list[LineageNode] = []
        for build in (self._dataset_tree, self._model_tree):
            try:
                trees.append(build(conn, ref))
            except (DatasetNotFound, ModelNotFound):
                continue
        if len(trees) == 1:
            return trees[0]
        if trees:
            raise AmbiguousId(
                f"{ref} names both a dataset version and a model version",
                hint=f"Write dataset:{ref} or model:{ref}.",
                details={"candidates": [f"dataset:{ref}", f"model:{ref}"]},
            )
        what = "experiment, dataset or model" if bare else "dataset or model version"
        raise NotFound(f"no {what} matches {str(ref)!r}")

    def _experiment(self, conn: Connection, pk: int, relation: str) -> LineageNode:
        exp = experiment_rows.load_experiments(conn, [pk])[0]
        source = exp.source or {}
        details: dict[str, Any] = {
            "project": exp.project,
            "name": exp.name,
            "status": exp.status,
            "owner": exp.owner,
            "created_at": exp.created_at,
            "code": {k: source.get(k) for k in ("commit", "branch", "remote_url", "dirty")},
        }
        label = f"experiment {exp.id} ({exp.name}, {exp.status})"
        return LineageNode("experiment", exp.id, label, relation, details)

    def _inputs(self, conn: Connection, experiment_pk: int) -> list[LineageNode]:
        return [
            dataset_node(dataset_rows.get_version_by_pk(conn, pk), f"used as {role}")
            for pk, role in dataset_rows.uses_of_experiment(conn, experiment_pk)
        ]

    def _outputs(self, conn: Connection, experiment_pk: int) -> list[LineageNode]:
        return [
            model_node(v, "registered as")
            for v in model_rows.versions_from_experiment(conn, experiment_pk)
        ]

    def _model_tree(self, conn: Connection, ref: Ref) -> LineageNode:
        version = self._models.version_of(conn, ref, None)
        key = experiment_rows.get_key(conn, version.experiment_id)
        assert key is not None
        exp = self._experiment(conn, key.pk, "registered from")
        exp.children.extend(self._inputs(conn, key.pk))
        root = model_node(version)
        root.children.append(exp)
        return root

    def _dataset_tree(self, conn: Connection, ref: Ref) -> LineageNode:
        dataset = self._datasets.find_dataset(conn, ref.name, None)
        found = dataset_rows.get_version(conn, dataset.pk, ref.version)
        if found is None:
            raise DatasetNotFound(f"dataset {ref.name!r} has no version {ref.version}")
        pk, version = found
        root = dataset_node(version)
        for exp_pk, role in dataset_rows.experiments_using(conn, pk):
            exp = self._experiment(conn, exp_pk, f"used by ({role})")
            exp.children.extend(self._outputs(conn, exp_pk))
            root.children.append(exp)
        return root

    def _experiment_tree(self, conn: Connection, experiment_id: str) -> LineageNode:
        key = readable_experiment(conn, self._ctx.actor, experiment_id)
        root = self._experiment(conn, key.pk, "")
        root.details["artifacts"] = len(artifact_rows.stored_paths(conn, key.pk))
        root.children.extend(self._inputs(conn, key.pk))
        root.children.extend(self._outputs(conn, key.pk))
        return root

    # --- integrity ----------------------------------------------------------------------------

    def verify(self, experiment_id: str | None = None) -> IntegrityReport:
        """Re-hash the stored objects of one experiment (its artifacts and the stored
        datasets it used) or, with None, of every readable project; report each missing or
        corrupted object with the names that refer to it."""
        blobs = require_blobs(self._blobs)
        problems: list[IntegrityProblem] = []
        objects = self._ctx.read(lambda conn: self._objects(conn, experiment_id, problems))
        checked = _check_all(blobs, objects)
        total = 0
        for digest, (status, n) in checked.items():
            total += n
            if status is not None:
                names = objects[digest][1]
                more = f" and {len(names) - 1} more" if len(names) > 1 else ""
                problems.append(
                    IntegrityProblem(
                        kind=status,
                        digest=digest,
                        names=names,
                        message=f"{names[0]}{more}: the stored object {digest} is {status}",
                    )
                )
        return IntegrityReport(not problems, len(objects), total, problems)

    def _objects(
        self, conn: Connection, experiment_id: str | None, problems: list[IntegrityProblem]
    ) -> dict[str, tuple[int, list[str]]]:
        """{digest: (size, names)} of every object to check; manifests are checked here."""
        if experiment_id is not None:
            key = readable_experiment(conn, self._ctx.actor, experiment_id)
            arts = artifact_rows.iter_for_verify(conn, experiment_pk=key.pk)
            uses = [pk for pk, _ in dataset_rows.uses_of_experiment(conn, key.pk)]
            sets = dataset_rows.iter_stored_for_verify(conn, version_pks=uses)
        else:
            ids = readable_projects(conn, self._ctx.actor)
            arts = artifact_rows.iter_for_verify(conn, project_ids=ids)
            sets = dataset_rows.iter_stored_for_verify(conn, project_ids=ids)
        objects: dict[str, tuple[int, list[str]]] = {}

        def add(digest: str, size: int, name: str) -> None:
            objects.setdefault(digest, (size, []))[1].append(name)

        for exp_id, path, digest, size in arts:
            add(digest, size, f"artifact {path!r} of experiment {exp_id}")
        for name, version, root, text in sets:
            manifest = parse_manifest(text) if text else {}
            if manifest_digest(manifest) != root:
                problems.append(
                    IntegrityProblem(
                        "manifest_altered",
                        root,
                        [f"dataset {name}:{version}"],
                        f"the manifest of dataset {name}:{version} no longer matches its "
                        f"digest {root}: it was edited after it was recorded",
                    )
                )
            for path, entry in manifest.items():
                add(entry.sha256, entry.size, f"file {path!r} of dataset {name}:{version}")
        return objects


def _check_all(
    blobs: BlobStore, objects: dict[str, tuple[int, list[str]]]
) -> dict[str, tuple[str | None, int]]:
    def check(digest: str) -> tuple[str | None, int]:
        return blobs.check(digest, size=objects[digest][0])

    with ThreadPoolExecutor(max_workers=VERIFY_THREADS) as pool:
        return dict(zip(objects, pool.map(check, objects), strict=True))
