"""``Client``: the SDK bound to one tracking URI, with no hidden global state.

Example:
    >>> client = Client("sqlite:////tmp/mled-example.db")  # doctest: +SKIP
    >>> with client.start_experiment(project="vision", params={"lr": 0.1}) as exp:  # doctest: +SKIP
    ...     exp.log_metrics({"loss": 0.3}, step=1)
    >>> client.get_experiment(exp.id).metrics  # doctest: +SKIP
    {'loss': 0.3}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Unpack

from mled.artifacts.sdk import ClientAssets
from mled.entities import AuditReport, Experiment, MetricHistory, NewExperiment, Project
from mled.sdk.already_ran import (
    DEFAULT_PROJECT,
    AlreadyRanFields,
    already_ran_spec,
    default_name,
    entry_spec,
)
from mled.sdk.backend import Backend
from mled.sdk.lifecycle import ProcessHooks, shared_hooks
from mled.sdk.live import LiveExperiment
from mled.sdk.search import ClientSearch
from mled.settings import Settings


class Client(ClientAssets, ClientSearch):
    """All SDK operations against one store."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        *,
        settings: Settings | None = None,
        hooks: ProcessHooks | None = None,
    ) -> None:
        settings = settings or Settings.from_env()
        if tracking_uri is not None:
            settings = replace(settings, tracking_uri=tracking_uri)
        self.settings = settings
        self._hooks = hooks or shared_hooks()
        self._backend: Backend | None = None
        self._pending_seeds: dict[str, Any] | None = None

    @property
    def tracking_uri(self) -> str:
        return self.settings.store_uri

    @property
    def backend(self) -> Backend:
        """The backend, opened on first use."""
        if self._backend is None:
            from mled.sdk.connect import open_backend

            self._backend = open_backend(
                self.tracking_uri, username=self.settings.username, settings=self.settings
            )
        return self._backend

    def close(self) -> None:
        """End this client's running experiments (flushing them) and close the backend."""
        if self._backend is not None:
            for exp in self._hooks.live():
                if exp.backend is self._backend:
                    exp.end("finished")
            self._backend.close()
            self._backend = None

    # --- projects ---------------------------------------------------------------------------

    def create_project(self, name: str, description: str = "") -> Project:
        return self.backend.create_project(name, description)

    def list_projects(self) -> list[Project]:
        return self.backend.list_projects()

    # --- experiments ------------------------------------------------------------------------

    def start_experiment(
        self,
        project: str = DEFAULT_PROJECT,
        name: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        group: str | None = None,
        parent: str | None = None,
        notes: str = "",
        capture: bool = True,
        reproduction_of: str | None = None,
    ) -> LiveExperiment:
        """Start a live experiment, capturing code version, command and environment."""
        source = command = environment = None
        if capture:
            source, command, environment = self._capture()
        spec = NewExperiment(
            project=project,
            name=name or default_name(),
            params=dict(params or {}),
            tags=dict(tags or {}),
            group=group,
            parent_id=parent,
            notes=notes,
            source=source,
            command=command,
            environment=environment,
            seeds=self._pending_seeds,
            reproduction_of=reproduction_of,
        )
        info = self.backend.create_experiment(spec)
        self._pending_seeds = None
        live = LiveExperiment(
            self.backend,
            info,
            flush_points=min(  # a server takes batches of at most max_batch_points
                self.settings.flush_points,
                getattr(self.backend, "max_batch_points", self.settings.flush_points),
            ),
            flush_interval=self.settings.flush_interval,
            on_end=self._hooks.untrack,
        )
        self._hooks.track(live, handle_signals=self.settings.handle_signals)
        return live

    def _capture(self) -> tuple[Any, Any, Any]:
        from mled.capture import CaptureOptions, capture_run_context

        s = self.settings
        ctx = capture_run_context(
            CaptureOptions(
                git=s.capture_git,
                git_diff=s.capture_git_diff,
                command=s.capture_command,
                environment=s.capture_environment,
                packages=s.capture_packages,
            )
        )
        return ctx.source, ctx.command, ctx.environment

    def log_experiment(
        self,
        project: str = DEFAULT_PROJECT,
        name: str | None = None,
        **fields: Unpack[AlreadyRanFields],
    ) -> Experiment:
        """Record an experiment that already ran, in one transaction.

        ``fields`` are ``params``, ``metrics``, ``tags``, ``started_at`` and ``ended_at``
        (ISO 8601 text, a datetime or epoch seconds), ``status`` (default ``"finished"``),
        ``group``, ``notes``, the capture records ``source``, ``command``, ``environment``
        and ``seeds``, and ``id`` (a UUID: the same call again returns the same experiment).
        ``metrics`` maps each key to a number (one final value), a list of numbers (steps
        0, 1, ...), or a list of ``(step, value)`` / ``(step, value, timestamp)`` tuples.

        Example:
            >>> client.log_experiment("vision", "resnet", params={"lr": 0.1},  # doctest: +SKIP
            ...                       metrics={"acc": [0.7, 0.9]}, started_at="2026-01-31")
        """
        return self.backend.create_experiment(already_ran_spec(project, name, **fields))

    def log_experiments(
        self, experiments: Iterable[Mapping[str, Any]], project: str = DEFAULT_PROJECT
    ) -> list[str]:
        """Record many experiments that already ran: the bulk path for imports and backfills.

        Each entry holds the keyword arguments of :meth:`log_experiment`, plus ``project``
        (default: the ``project`` argument), ``name`` and an optional ``id`` (a UUID, to make a
        re-run of the same import store nothing twice). Every entry is checked before anything
        is written; they are then stored a thousand per transaction (over HTTP, a request per
        batch). Returns the new IDs in the order given. Generated IDs are fixed before the first
        write, so a retried batch is recognized and stored once.

        Example:
            >>> client.log_experiments(  # doctest: +SKIP
            ...     [{"name": "a", "params": {"lr": 0.1}, "metrics": {"acc": 0.91}},
            ...      {"name": "b", "params": {"lr": 0.01}, "metrics": {"acc": [0.5, 0.93]}}],
            ...     project="sweep",
            ... )
            ['019a...', '019a...']
        """
        specs = [entry_spec(i, entry, project) for i, entry in enumerate(experiments)]
        return self.backend.import_experiments(specs)

    def get_experiment(self, id_or_prefix: str) -> Experiment:
        """One experiment by full ID or unique prefix."""
        return self.backend.get_experiment(id_or_prefix)

    def list_experiments(
        self, project: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Experiment]:
        return self.backend.list_experiments(project, limit=limit, offset=offset)

    def get_metric_history(
        self, experiment_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        """Points of one metric ordered by step (LTTB-downsampled to ``max_points``)."""
        return self.backend.get_metric_history(experiment_id, key, max_points=max_points)

    def verify_audit(self) -> AuditReport:
        return self.backend.verify_audit()

    def remember_seeds(self, seeds: dict[str, Any]) -> None:
        """Seeds set before any experiment started are recorded on the next one."""
        self._pending_seeds = seeds
