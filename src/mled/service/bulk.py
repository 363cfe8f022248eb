"""Bulk import: many experiments per transaction, with one audit event per experiment.

``ExperimentService.import_many`` is the fast path for loading experiments that already ran
(a migration from another tracker, a backfill): every spec is validated and encoded before the
first transaction starts, then each batch of up to ``batch_size`` experiments is written by one
transaction with one multi-row ``INSERT`` per table. Each experiment gets one
``experiment.import`` audit event holding what ``experiment.create`` holds plus the digests of
its metric chunks, so ``mled audit verify`` checks imported metric values exactly like logged
ones.

Example:
    >>> from mled.entities import NewExperiment
    >>> specs = [NewExperiment(project="vision", name=f"run-{i}", status="finished",
    ...                        params={"lr": 0.1 * i}) for i in range(3)]
    >>> ids = services.experiments.import_many(specs)  # doctest: +SKIP
    >>> len(ids)  # doctest: +SKIP
    3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from mled.auth.permissions import Action
from mled.entities import NewExperiment
from mled.errors import AlreadyExists, InvalidInput, MledError
from mled.ids import is_full_id, new_id
from mled.service.audit import AuditWriter
from mled.service.authorization import authorize
from mled.service.metric_batches import _summarize, encode_batch
from mled.store.sql.codec import EncodedChunk
from mled.store.sql.keys import refresh_statistics, statistics_stale
from mled.store.sql.metrics import SummaryRow, summary_values
from mled.store.sql.new_experiments import NewExperimentRows, insert_new_experiments
from mled.store.sql.projects import ProjectRow
from mled.store.sql.summaries import (
    MetricValues,
    SummaryValues,
    encode_metrics,
    encode_params,
    encode_tags,
)
from mled.store.sql.tables import experiments
from mled.store.sql.tables.meta import PREFIX_LENGTH
from mled.validation import (
    encode_param,
    validate_key,
    validate_new_experiment,
    validate_tag_value,
)

if TYPE_CHECKING:
    from mled.service.context import ServiceContext
    from mled.service.experiments import ExperimentService

DEFAULT_BATCH = 5_000
"""Experiments written per transaction.

Each SQLite commit writes every index page the batch touched to the WAL, and a checkpoint
copies them back; at 100,000 experiments a batch's rows land all over the indexes, so larger
batches write each page fewer times: 100,000 imported at 1,655-1,916/s in batches of 1,000,
2,211-2,402/s in batches of 5,000 (2,080/s in batches of 10,000; PostgreSQL the same for
both). A batch holds SQLite's write lock for its whole time: about 2 s at 2,400/s, about 6 s
on the slowest machine measured (850/s)."""
MAX_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Prepared:
    """One validated spec, encoded for the tables."""

    spec: NewExperiment
    public_id: str
    params: list[tuple[str, str, str, float | None]]  # key, type, text, number
    tags: dict[str, str]
    chunks: dict[str, EncodedChunk]


@dataclass(frozen=True, slots=True)
class Encoded:
    """One experiment's rows, and what its entity is built from besides them
    (see :func:`mled.store.sql.loading.written_experiment`)."""

    rows: NewExperimentRows
    names: tuple[str, str, str | None, str | None]
    """The project's name, the owner's username, the parent's and the original's public IDs."""


def prepare(spec: NewExperiment) -> Prepared:
    """Validate and encode one spec (the checks of ``ExperimentService.create``).

    Example:
        >>> prepare(NewExperiment(project="p", name="n", params={"lr": 0.1})).params
        [('lr', 'float', '0.1', 0.1)]
    """
    validate_new_experiment(spec)
    encoded = [(validate_key(k, "param"), *encode_param(v)) for k, v in spec.params.items()]
    tag_values = {validate_key(k, "tag"): validate_tag_value(k, v) for k, v in spec.tags.items()}
    if spec.id is None:
        public_id = new_id()
    elif is_full_id(spec.id):
        public_id = spec.id.strip().lower()
    else:
        raise InvalidInput(f"{spec.id!r} is not a UUID", hint="Use mled.ids.new_id() or omit it.")
    return Prepared(spec, public_id, encoded, tag_values, encode_batch(spec.metrics))


def _prepare_item(index: int, spec: NewExperiment) -> Prepared:
    """:func:`prepare` for item ``index`` of an import: an error names the item."""
    try:
        return prepare(spec)
    except MledError as err:
        raise err.about_item(index) from err


class Importer:
    """Writes prepared experiments in batches; see :meth:`ExperimentService.import_many`."""

    def __init__(self, ctx: ServiceContext, service: ExperimentService) -> None:
        self._ctx = ctx
        self._service = service

    def run(self, specs: Sequence[NewExperiment], batch_size: int = DEFAULT_BATCH) -> list[str]:
        if not 1 <= batch_size <= MAX_BATCH:
            raise InvalidInput(f"batch_size must be between 1 and {MAX_BATCH}")
        prepared = [_prepare_item(i, s) for i, s in enumerate(specs)]
        if len({p.public_id for p in prepared}) != len(prepared):
            raise InvalidInput("two of the experiments to import have the same id")
        for i in range(0, len(prepared), batch_size):
            self._ctx.write(partial(self._write_new, batch=prepared[i : i + batch_size]))
        if self._ctx.store.read(partial(statistics_stale, added=len(prepared))):
            refresh_statistics(self._ctx.store.engine)  # the planner must see the new sizes
        return [p.public_id for p in prepared]

    def _write_new(self, conn: Connection, audit: AuditWriter, batch: list[Prepared]) -> None:
        batch = self._new_only(conn, batch)
        if batch:
            self.write(conn, audit, batch, "experiment.import")

    def write(
        self, conn: Connection, audit: AuditWriter, batch: list[Prepared], action: str
    ) -> None:
        """Insert ``batch`` with one multi-row ``INSERT`` per table and one audit event
        (``action``) per experiment, in the caller's transaction."""
        insert_new_experiments(conn, [e.rows for e in self.encode(conn, audit, batch, action)])

    def encode(
        self, conn: Connection, audit: AuditWriter, batch: list[Prepared], action: str
    ) -> list[Encoded]:
        """The rows of each experiment of ``batch``, after checking that the actor may log to
        its project (created if new) and recording its ``action`` audit event."""
        projects: dict[str, ProjectRow] = {}
        for name in dict.fromkeys(p.spec.project for p in batch):
            project = self._service._projects.get_or_create(conn, audit, name)
            authorize(conn, self._ctx.actor, Action.LOG, project.pk, project.entity.name)
            projects[name] = project
        owner = self._ctx.actor.username
        out = []
        for p in batch:
            row, links = self._service._row_values(
                conn, p.spec, p.public_id, projects[p.spec.project].pk, audit.now
            )
            seq = self._record(audit, p, action)
            metric_values: list[MetricValues] = []
            chunks = []
            for key in sorted(p.chunks):
                summary = SummaryRow(None, key, None, None, None, 0, 0, 0.0)
                _summarize(summary, p.spec.metrics[key])
                metric_values.append((key, *summary_values(summary)))
                chunks.append(p.chunks[key])
            rows = NewExperimentRows(
                row=row,
                params=[
                    (k, vtype, text, num, text[:PREFIX_LENGTH]) for k, vtype, text, num in p.params
                ],
                tags=[(k, v, v[:PREFIX_LENGTH]) for k, v in p.tags.items()],
                metrics=metric_values,
                chunks=chunks,
                summary=_summary(p, metric_values),
                audit_seq=seq,
            )
            out.append(Encoded(rows, (projects[p.spec.project].entity.name, owner, *links)))
        return out

    def _new_only(self, conn: Connection, batch: list[Prepared]) -> list[Prepared]:
        """Leave out experiments this user already imported with the same id (a retry)."""
        given = [p.public_id for p in batch if p.spec.id is not None]
        if not given:
            return batch
        c = experiments.c
        stmt = select(c.public_id, c.owner_id).where(c.public_id.in_(given))
        existing = {r[0]: r[1] for r in conn.execute(stmt)}
        for public_id, owner in existing.items():
            if owner != self._ctx.actor.id:
                raise AlreadyExists(f"an experiment with id {public_id} already exists")
        return [p for p in batch if p.public_id not in existing]

    @staticmethod
    def _record(audit: AuditWriter, p: Prepared, action: str) -> int:
        spec = p.spec
        after: dict[str, Any] = {
            "project": spec.project,
            "name": spec.name,
            "status": spec.status,
            "params": {key: [vtype, text] for key, vtype, text, _ in p.params},
            "tags": p.tags,
            "group": spec.group,
            "started_at": spec.started_at,
            "ended_at": spec.ended_at,
        }
        if p.chunks:
            after["points"] = sum(c.count for c in p.chunks.values())
            after["chunks"] = {k: c.digest for k, c in p.chunks.items()}
        return audit.record(action, "experiment", p.public_id, after=after)


def _summary(p: Prepared, metric_values: list[Any]) -> SummaryValues:
    keys, packed = encode_metrics(metric_values)
    params_doc = encode_params({key: (vtype, text) for key, vtype, text, _ in p.params})
    return params_doc, encode_tags(p.tags), keys, packed
