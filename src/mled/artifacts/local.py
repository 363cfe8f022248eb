"""The embedded backend's artifact, dataset, model and lineage operations (mixed into
``LocalBackend``): each is one call of the service layer, in-process.

Example:
    >>> backend = LocalBackend.open(uri, username="alice", settings=settings)  # doctest: +SKIP
    >>> backend.list_artifacts(exp_id)  # doctest: +SKIP
    []
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from mled.artifacts.entities import (
    Artifact,
    ArtifactEntry,
    Dataset,
    DatasetDiff,
    DatasetSpec,
    DatasetVersion,
    GcReport,
    IntegrityReport,
    LineageNode,
    Model,
    ModelDetails,
    ModelVersion,
)

if TYPE_CHECKING:
    from mled.artifacts.transfer import Uploader
    from mled.service import Services


class LocalAssets:
    """Artifact operations of ``LocalBackend`` over its ``Services``."""

    _s: Services

    def open_uploader(self, experiment_id: str) -> Uploader:
        # In-process, durability is settled once by the registration that follows.
        return self._s.artifacts.uploader(experiment_id, deferred=True)

    def register_artifacts(
        self, experiment_id: str, entries: Sequence[ArtifactEntry]
    ) -> list[Artifact]:
        return self._s.artifacts.register(experiment_id, entries)

    def list_artifacts(self, experiment_id: str, prefix: str | None = None) -> list[Artifact]:
        return self._s.artifacts.list(experiment_id, prefix)

    def read_artifacts(
        self, experiment_id: str, prefix: str | None = None
    ) -> Iterator[tuple[Artifact, Iterator[bytes]]]:
        return self._s.artifacts.read_many(experiment_id, prefix)

    def log_dataset(self, experiment_id: str, spec: DatasetSpec) -> DatasetVersion:
        return self._s.datasets.log(experiment_id, spec)

    def list_datasets(self, project: str | None = None) -> list[Dataset]:
        return self._s.datasets.list(project)

    def list_dataset_versions(self, name: str, project: str | None = None) -> list[DatasetVersion]:
        return self._s.datasets.versions(name, project)

    def get_dataset_version(self, ref: str, project: str | None = None) -> DatasetVersion:
        return self._s.datasets.get_version(ref, project)

    def diff_dataset(
        self, name: str, from_version: int, to_version: int, project: str | None = None
    ) -> DatasetDiff:
        return self._s.datasets.diff(name, from_version, to_version, project)

    def read_dataset_files(
        self, ref: str, project: str | None = None
    ) -> tuple[DatasetVersion, Iterator[tuple[str, Iterator[bytes]]]]:
        return self._s.datasets.read_files(ref, project)

    def register_model(self, experiment_id: str, artifact_path: str, name: str) -> ModelVersion:
        return self._s.models.register(experiment_id, artifact_path, name)

    def set_model_alias(
        self, name: str, alias: str, version: int, project: str | None = None
    ) -> ModelVersion:
        return self._s.models.set_alias(name, alias, version, project)

    def delete_model_alias(self, name: str, alias: str, project: str | None = None) -> None:
        self._s.models.delete_alias(name, alias, project)

    def list_models(self, project: str | None = None) -> list[Model]:
        return self._s.models.list(project)

    def get_model(self, name: str, project: str | None = None) -> ModelDetails:
        return self._s.models.get(name, project)

    def get_model_version(self, ref: str, project: str | None = None) -> ModelVersion:
        return self._s.models.get_version(ref, project)

    def lineage(self, ref: str) -> LineageNode:
        return self._s.lineage.lineage(ref)

    def verify_artifacts(self, experiment_id: str | None = None) -> IntegrityReport:
        return self._s.lineage.verify(experiment_id)

    def collect_garbage(
        self, older_than: timedelta, *, dry_run: bool = False, remove_unreferenced: bool = False
    ) -> GcReport:
        return self._s.artifact_gc.collect(
            older_than=older_than, dry_run=dry_run, remove_unreferenced=remove_unreferenced
        )
