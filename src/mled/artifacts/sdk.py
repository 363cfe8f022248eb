"""SDK methods for artifacts, datasets, models and lineage, mixed into ``LiveExperiment`` and
``Client`` (so those modules stay small).

Example:
    >>> with client.start_experiment(project="vision") as exp:  # doctest: +SKIP
    ...     exp.log_dataset("data/cifar10", "cifar10", role="train", store=True)
    ...     exp.log_artifact("model.pt")
    ...     path = exp.log_model("checkpoints/best", "resnet")
    >>> client.register_model(exp.id, path, "resnet").version  # doctest: +SKIP
    1
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from mled.artifacts import transfer
from mled.artifacts.entities import (
    Artifact,
    Dataset,
    DatasetDiff,
    DatasetVersion,
    GcReport,
    IntegrityReport,
    LineageNode,
    Model,
    ModelDetails,
    ModelVersion,
)

if TYPE_CHECKING:
    from mled.sdk.backend import Backend

PathLike = str | os.PathLike[str]


class ExperimentAssets:
    """Logging files, folders, text, models and datasets to a running experiment."""

    _backend: Backend
    id: str
    project: str

    def log_artifact(self, path: PathLike, name: str | None = None) -> Artifact:
        """Store a file as an artifact at the logical path ``name`` (default: its file name).

        Example:
            >>> exp.log_artifact("plots/roc.png", name="eval/roc.png")  # doctest: +SKIP
        """
        return transfer.log_file(self._backend, self.id, Path(path), name)

    def log_artifacts(self, folder: PathLike, prefix: str | None = None) -> list[Artifact]:
        """Store every file under ``folder`` at its relative path (under ``prefix``).

        Symlinks inside the folder are refused. Example: ``exp.log_artifacts("outputs")``.
        """
        return transfer.log_folder(self._backend, self.id, Path(folder), prefix)

    def log_text(self, text: str, name: str) -> Artifact:
        """Store text (UTF-8) as an artifact. Example: ``exp.log_text(report, "report.md")``."""
        media = "text/markdown" if name.endswith(".md") else "text/plain"
        return transfer.log_bytes(self._backend, self.id, text.encode("utf-8"), name, media)

    def log_model(self, path: PathLike, name: str) -> str:
        """Store a model file or folder under ``models/<name>``; returns that artifact path,
        which ``register_model`` accepts. Example: ``exp.log_model("best.pt", "resnet")``."""
        return transfer.log_model(self._backend, self.id, Path(path), name)

    def log_dataset(
        self, source: PathLike, name: str, role: str = "train", store: bool = False
    ) -> DatasetVersion:
        """Record that this experiment uses a dataset, as ``role`` (train, validation, test).

        ``source`` is a local file or folder (hashed here, file by file, into a manifest; the
        same content reuses its version, new content gets the next one) or a URI such as
        ``s3://bucket/data`` that is only recorded. ``store=True`` also keeps the bytes in
        the artifact store (only those it does not hold yet).

        Example:
            >>> exp.log_dataset("data/cifar10", "cifar10", role="train").version  # doctest: +SKIP
            1
        """
        return transfer.log_dataset(
            self._backend, self.id, source, name, role=role, store=store, project=self.project
        )


class ClientAssets:
    """Client methods for artifacts, datasets, the model registry, lineage and integrity."""

    @property
    def backend(self) -> Backend:
        raise NotImplementedError

    # --- artifacts ----------------------------------------------------------------------------

    def log_artifact(self, experiment_id: str, path: PathLike, name: str | None = None) -> Artifact:
        """Store a file as an artifact of an experiment (which may have ended)."""
        return transfer.log_file(self.backend, experiment_id, Path(path), name)

    def log_artifacts(
        self, experiment_id: str, folder: PathLike, prefix: str | None = None
    ) -> list[Artifact]:
        return transfer.log_folder(self.backend, experiment_id, Path(folder), prefix)

    def list_artifacts(self, experiment_id: str, path: str | None = None) -> list[Artifact]:
        """Artifacts of an experiment (at or under ``path``), ordered by path."""
        return self.backend.list_artifacts(experiment_id, path)

    def download_artifacts(
        self, experiment_id: str, path: str | None = None, dest: PathLike = "."
    ) -> Path:
        """Download an artifact or folder (None: all) into ``dest``, verifying every byte.

        Example:
            >>> client.download_artifacts(exp_id, "models/resnet", dest="out")  # doctest: +SKIP
            PosixPath('out/resnet')
        """
        return transfer.download_artifacts(self.backend, experiment_id, path, Path(dest))

    # --- datasets -----------------------------------------------------------------------------

    def list_datasets(self, project: str | None = None) -> list[Dataset]:
        return self.backend.list_datasets(project)

    def list_dataset_versions(self, name: str, project: str | None = None) -> list[DatasetVersion]:
        return self.backend.list_dataset_versions(name, project)

    def get_dataset_version(self, ref: str, project: str | None = None) -> DatasetVersion:
        """``NAME`` (latest) or ``NAME:VERSION``, with its manifest."""
        return self.backend.get_dataset_version(ref, project)

    def diff_dataset(
        self, name: str, from_version: int, to_version: int, project: str | None = None
    ) -> DatasetDiff:
        return self.backend.diff_dataset(name, from_version, to_version, project)

    def download_dataset(
        self, ref: str, dest: PathLike, project: str | None = None
    ) -> DatasetVersion:
        """Download a stored dataset version's files into ``dest``."""
        return transfer.download_dataset(self.backend, ref, Path(dest), project)

    # --- models -------------------------------------------------------------------------------

    def register_model(self, experiment_id: str, artifact_path: str, name: str) -> ModelVersion:
        """Register an experiment's artifact (file or folder) as the next version of ``name``.

        Example:
            >>> client.register_model(exp_id, "models/resnet", "resnet").version  # doctest: +SKIP
            1
        """
        return self.backend.register_model(experiment_id, artifact_path, name)

    def set_model_alias(
        self, name: str, alias: str, version: int, project: str | None = None
    ) -> ModelVersion:
        return self.backend.set_model_alias(name, alias, version, project)

    def delete_model_alias(self, name: str, alias: str, project: str | None = None) -> None:
        self.backend.delete_model_alias(name, alias, project)

    def list_models(self, project: str | None = None) -> list[Model]:
        return self.backend.list_models(project)

    def get_model(self, name: str, project: str | None = None) -> ModelDetails:
        return self.backend.get_model(name, project)

    def get_model_version(self, ref: str, project: str | None = None) -> ModelVersion:
        """``NAME`` (latest), ``NAME:VERSION`` or ``NAME@ALIAS``."""
        return self.backend.get_model_version(ref, project)

    # --- lineage and integrity ----------------------------------------------------------------

    def lineage(self, ref: str) -> LineageNode:
        """The lineage tree of ``MODEL@alias``, ``MODEL:V``, ``DATASET:V`` or an experiment."""
        return self.backend.lineage(ref)

    def verify_artifacts(self, experiment_id: str | None = None) -> IntegrityReport:
        """Re-hash stored artifacts and dataset files (of one experiment, or all)."""
        return self.backend.verify_artifacts(experiment_id)

    def collect_garbage(
        self,
        older_than: timedelta | float = timedelta(hours=24),
        *,
        dry_run: bool = False,
        remove_unreferenced: bool = False,
    ) -> GcReport:
        """Remove the leftovers of killed uploads from the artifact store (admins only).

        Temporary uploads not written to for ``older_than`` (a timedelta, or seconds; at
        least one hour) are removed, younger ones kept. Complete objects that no artifact or
        dataset version refers to are reported in ``unreferenced``, and removed only with
        ``remove_unreferenced`` (once older than ``older_than`` too). ``dry_run`` removes
        nothing and reports what would go (``action == "would_remove"``).

        Example:
            >>> report = client.collect_garbage(timedelta(hours=48), dry_run=True)  # doctest: +SKIP
            >>> [(u.key, u.action) for u in report.uploads]  # doctest: +SKIP
            [('tmp/0b3c9e1f....part', 'would_remove')]
        """
        grace = older_than if isinstance(older_than, timedelta) else timedelta(seconds=older_than)
        return self.backend.collect_garbage(
            grace, dry_run=dry_run, remove_unreferenced=remove_unreferenced
        )
