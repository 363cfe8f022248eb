"""Artifact, dataset, model and lineage operations of ``HttpBackend``: not served yet.

The server has no REST routes for them in this version, so each raises one clear error
instead of an obscure 404. Replace this mixin with real calls once the routes exist.

Example:
    >>> HttpAssetsUnavailable().list_models()
    Traceback (most recent call last):
    ...
    mled.errors.InvalidTrackingUri: models are not available through an MLED server yet ...
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, NoReturn

from mled.errors import InvalidTrackingUri

if TYPE_CHECKING:
    from mled.artifacts.entities import (
        Artifact,
        ArtifactEntry,
        Dataset,
        DatasetDiff,
        DatasetSpec,
        DatasetVersion,
        IntegrityReport,
        LineageNode,
        Model,
        ModelDetails,
        ModelVersion,
    )
    from mled.artifacts.transfer import Uploader


def _unavailable(what: str) -> NoReturn:
    raise InvalidTrackingUri(
        f"{what} are not available through an MLED server yet",
        hint="Use the store directly for them: a sqlite:/// or postgresql:// tracking URI.",
    )


class HttpAssetsUnavailable:
    """The asset half of the ``Backend`` protocol, refusing every call."""

    def open_uploader(self, experiment_id: str) -> Uploader:
        _unavailable("artifacts")

    def register_artifacts(
        self, experiment_id: str, entries: Sequence[ArtifactEntry]
    ) -> list[Artifact]:
        _unavailable("artifacts")

    def list_artifacts(self, experiment_id: str, prefix: str | None = None) -> list[Artifact]:
        _unavailable("artifacts")

    def read_artifacts(
        self, experiment_id: str, prefix: str | None = None
    ) -> Iterator[tuple[Artifact, Iterator[bytes]]]:
        _unavailable("artifacts")

    def log_dataset(self, experiment_id: str, spec: DatasetSpec) -> DatasetVersion:
        _unavailable("datasets")

    def list_datasets(self, project: str | None = None) -> list[Dataset]:
        _unavailable("datasets")

    def list_dataset_versions(self, name: str, project: str | None = None) -> list[DatasetVersion]:
        _unavailable("datasets")

    def get_dataset_version(self, ref: str, project: str | None = None) -> DatasetVersion:
        _unavailable("datasets")

    def diff_dataset(
        self, name: str, from_version: int, to_version: int, project: str | None = None
    ) -> DatasetDiff:
        _unavailable("datasets")

    def read_dataset_files(
        self, ref: str, project: str | None = None
    ) -> tuple[DatasetVersion, Iterator[tuple[str, Iterator[bytes]]]]:
        _unavailable("datasets")

    def register_model(self, experiment_id: str, artifact_path: str, name: str) -> ModelVersion:
        _unavailable("models")

    def set_model_alias(
        self, name: str, alias: str, version: int, project: str | None = None
    ) -> ModelVersion:
        _unavailable("models")

    def delete_model_alias(self, name: str, alias: str, project: str | None = None) -> None:
        _unavailable("models")

    def list_models(self, project: str | None = None) -> list[Model]:
        _unavailable("models")

    def get_model(self, name: str, project: str | None = None) -> ModelDetails:
        _unavailable("models")

    def get_model_version(self, ref: str, project: str | None = None) -> ModelVersion:
        _unavailable("models")

    def lineage(self, ref: str) -> LineageNode:
        _unavailable("lineage graphs")

    def verify_artifacts(self, experiment_id: str | None = None) -> IntegrityReport:
        _unavailable("artifacts")
