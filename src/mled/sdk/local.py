"""``LocalBackend``: the service layer called in-process on an embedded store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mled.artifacts.config import ArtifactConfig
from mled.artifacts.local import LocalAssets
from mled.entities import AuditReport, Experiment, MetricHistory, NewExperiment, Project, Series
from mled.sdk.local_accounts import LocalAccounts
from mled.sdk.local_search import LocalSearch
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore


class LocalBackend(LocalAssets, LocalAccounts, LocalSearch):
    """Embedded mode: a SQLite file (or a PostgreSQL database) opened by this process.

    Example:
        >>> backend = LocalBackend.open("sqlite:////tmp/x.db", username="alice")  # doctest: +SKIP
        >>> backend.create_project("vision").name  # doctest: +SKIP
        'vision'
    """

    def __init__(self, store: SqlStore, services: Services, username: str) -> None:
        self._store = store
        self._s = services
        self._username = username

    @classmethod
    def open(cls, uri: str, *, username: str, settings: Settings | None = None) -> LocalBackend:
        """Open the store at ``uri``; ``settings`` locate the artifact store (None: none)."""
        blobs = None
        if settings is not None:
            config = ArtifactConfig(settings.artifact_store_uri, settings.s3_endpoint_url)
            blobs = config.open()
        store = SqlStore.open(uri)
        return cls(store, Services.for_user(store, username, blobs), username)

    @property
    def username(self) -> str:
        return self._username

    @property
    def store(self) -> SqlStore:
        return self._store

    def create_project(self, name: str, description: str = "") -> Project:
        return self._s.projects.create(name, description)

    def list_projects(self) -> list[Project]:
        return self._s.projects.list()

    def create_experiment(self, spec: NewExperiment) -> Experiment:
        return self._s.experiments.create(spec)

    def import_experiments(self, specs: Sequence[NewExperiment]) -> list[str]:
        return self._s.experiments.import_many(specs)

    def log_params(self, experiment_id: str, params: Mapping[str, Any]) -> None:
        self._s.experiments.log_params(experiment_id, params)

    def set_tags(self, experiment_id: str, tags: Mapping[str, Any]) -> None:
        self._s.experiments.set_tags(experiment_id, tags)

    def delete_tag(self, experiment_id: str, key: str) -> None:
        self._s.experiments.delete_tag(experiment_id, key)

    def log_metric_batch(self, experiment_id: str, batch: Mapping[str, Series]) -> int:
        return self._s.metrics.log_batch(experiment_id, batch)

    def set_seeds(self, experiment_id: str, seeds: dict[str, Any]) -> None:
        self._s.experiments.set_seeds(experiment_id, seeds)

    def end_experiment(
        self,
        experiment_id: str,
        status: str,
        *,
        error: str | None = None,
        ended_at: float | None = None,
    ) -> None:
        self._s.experiments.end(experiment_id, status, error=error, ended_at=ended_at)

    def get_experiment(self, id_or_prefix: str) -> Experiment:
        return self._s.experiments.get(id_or_prefix)

    def list_experiments(
        self, project: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Experiment]:
        return self._s.experiments.list(project, limit=limit, offset=offset)

    def get_metric_history(
        self, experiment_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        return self._s.metrics.history(experiment_id, key, max_points=max_points)

    def verify_audit(self) -> AuditReport:
        return self._s.audit.verify()

    def close(self) -> None:
        self._store.close()
