"""The contract every backend implements: embedded (``LocalBackend``) or, later, HTTP.

The SDK and CLI speak only this protocol, so the same tests run against every backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from mled.entities import (
    AuditReport,
    Comparison,
    Experiment,
    IssuedToken,
    MetricHistory,
    NewExperiment,
    Page,
    Project,
    Series,
    TokenInfo,
    User,
)

if TYPE_CHECKING:
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
    from mled.artifacts.transfer import Uploader


class Backend(Protocol):
    """Operations the SDK needs; one call is one service call (one transaction)."""

    @property
    def username(self) -> str: ...

    def create_project(self, name: str, description: str = "") -> Project: ...

    def list_projects(self) -> list[Project]: ...

    def create_experiment(self, spec: NewExperiment) -> Experiment: ...

    def import_experiments(self, specs: Sequence[NewExperiment]) -> list[str]: ...

    def log_params(self, experiment_id: str, params: Mapping[str, Any]) -> None: ...

    def set_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None: ...

    def delete_tag(self, experiment_id: str, key: str) -> None: ...

    def log_metric_batch(self, experiment_id: str, batch: Mapping[str, Series]) -> int: ...

    def set_seeds(self, experiment_id: str, seeds: dict[str, Any]) -> None: ...

    def end_experiment(
        self,
        experiment_id: str,
        status: str,
        *,
        error: str | None = None,
        ended_at: float | None = None,
    ) -> None: ...

    def get_experiment(self, id_or_prefix: str) -> Experiment: ...

    def list_experiments(
        self, project: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Experiment]: ...

    def get_metric_history(
        self, experiment_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory: ...

    def verify_audit(self) -> AuditReport: ...

    # --- search and compare -------------------------------------------------------------------

    def search(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """One page (``limit`` experiments, default 1,000) of a query's results."""
        ...

    def compare(
        self,
        ids: Sequence[str],
        *,
        directions: Mapping[str, str] | None = None,
        histories: bool = True,
        max_points: int | None = None,
    ) -> Comparison: ...

    # --- artifacts, datasets, models, lineage (chunk iterators stream bytes both ways) ------

    def open_uploader(self, experiment_id: str) -> Uploader:
        """An uploader for an experiment the caller may log to; its ``put`` takes chunks."""
        ...

    def register_artifacts(
        self, experiment_id: str, entries: Sequence[ArtifactEntry]
    ) -> list[Artifact]: ...

    def list_artifacts(self, experiment_id: str, prefix: str | None = None) -> list[Artifact]: ...

    def read_artifacts(
        self, experiment_id: str, prefix: str | None = None
    ) -> Iterator[tuple[Artifact, Iterator[bytes]]]:
        """Each artifact at or under ``prefix`` with its chunks; a chunk iterator raises
        ArtifactCorrupted at its end when the bytes do not match the digest."""
        ...

    def log_dataset(self, experiment_id: str, spec: DatasetSpec) -> DatasetVersion: ...

    def list_datasets(self, project: str | None = None) -> list[Dataset]: ...

    def list_dataset_versions(
        self, name: str, project: str | None = None
    ) -> list[DatasetVersion]: ...

    def get_dataset_version(self, ref: str, project: str | None = None) -> DatasetVersion: ...

    def diff_dataset(
        self, name: str, from_version: int, to_version: int, project: str | None = None
    ) -> DatasetDiff: ...

    def read_dataset_files(
        self, ref: str, project: str | None = None
    ) -> tuple[DatasetVersion, Iterator[tuple[str, Iterator[bytes]]]]: ...

    def register_model(self, experiment_id: str, artifact_path: str, name: str) -> ModelVersion: ...

    def set_model_alias(
        self, name: str, alias: str, version: int, project: str | None = None
    ) -> ModelVersion: ...

    def delete_model_alias(self, name: str, alias: str, project: str | None = None) -> None: ...

    def list_models(self, project: str | None = None) -> list[Model]: ...

    def get_model(self, name: str, project: str | None = None) -> ModelDetails: ...

    def get_model_version(self, ref: str, project: str | None = None) -> ModelVersion: ...

    def lineage(self, ref: str) -> LineageNode: ...

    def verify_artifacts(self, experiment_id: str | None = None) -> IntegrityReport: ...

    def collect_garbage(
        self, older_than: timedelta, *, dry_run: bool = False, remove_unreferenced: bool = False
    ) -> GcReport:
        """Remove dead temporary uploads (and, on request, unreferenced objects); admins."""
        ...

    # --- users, memberships, tokens -----------------------------------------------------------

    def create_user(
        self, username: str, *, password: str | None = None, admin: bool = False
    ) -> User: ...

    def list_users(self) -> list[User]: ...

    def set_user_disabled(self, username: str, disabled: bool) -> None: ...

    def set_password(self, username: str, password: str) -> None: ...

    def set_role(self, project: str, username: str, role: str | None) -> None: ...

    def list_members(self, project: str) -> dict[str, str]: ...

    def create_token(
        self, name: str, *, days: float | None = 90, username: str | None = None
    ) -> IssuedToken: ...

    def list_tokens(self, *, all_users: bool = False) -> list[TokenInfo]: ...

    def revoke_token(self, token_id: int) -> None: ...

    def close(self) -> None: ...
