"""Metric batches (one transaction and one audit event per flush) and history reads."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

from mled.auth.permissions import Action
from mled.downsample import lttb_indices
from mled.entities import MetricHistory, Series
from mled.errors import Conflict, InvalidInput, MetricNotFound
from mled.service.audit import AuditWriter
from mled.service.authorization import authorize
from mled.service.context import ServiceContext
from mled.service.experiments import ExperimentService, resolve
from mled.service.metric_batches import encode_batch, write_batch
from mled.store.sql import accounts as account_rows
from mled.store.sql import metrics as metric_rows
from mled.store.sql import projects as project_rows
from mled.store.sql.codec import decode_chunk


class MetricService:
    """Example:
    >>> batch = {"loss": ([0, 1], [t0, t1], [0.9, 0.7])}  # doctest: +SKIP
    >>> MetricService(ctx).log_batch(exp_id, batch)  # doctest: +SKIP
    2
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._experiments = ExperimentService(ctx)

    def log_batch(
        self,
        experiment_id: str,
        batch: Mapping[str, Series],
        *,
        idempotency_key: str | None = None,
    ) -> int:
        """Store a batch durably (one transaction); returns the number of points stored.

        A batch sent again with the same ``idempotency_key`` (a retry after a lost response,
        a replayed spool) is not stored twice: the first result is returned.
        """
        chunks = encode_batch(batch)
        if not chunks:
            return 0
        actor = self._ctx.actor

        def run(conn: Connection, audit: AuditWriter) -> int:
            if idempotency_key is not None:
                done = account_rows.idempotent_result(conn, idempotency_key)
                if done is not None and done[0] == actor.id:
                    return int(done[1] or 0)
                if done is not None:
                    raise Conflict(
                        "this idempotency key was used by another user",
                        hint="Generate a fresh random key per batch.",
                    )
            key = self._experiments.writable(conn, experiment_id, running=True)
            total = write_batch(conn, audit, key.pk, key.public_id, batch, chunks)
            if idempotency_key is not None:
                account_rows.save_idempotent_result(
                    conn, idempotency_key, actor.id, audit.now, str(total)
                )
            return total

        return self._ctx.write(run)

    def history(
        self, experiment_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        """All points of one metric in (step, timestamp) order, optionally LTTB-downsampled."""
        if max_points is not None and max_points < 2:
            raise InvalidInput(
                f"max_points must be at least 2, not {max_points}",
                hint="Downsampling keeps the first and the last point; ask for 2 or more, "
                "or leave max_points out for every point.",
            )

        def run(conn: Connection) -> list[tuple[bytes, bytes, bytes]]:
            exp = resolve(conn, experiment_id)
            project = project_rows.get_project_by_pk(conn, exp.project_id)
            assert project is not None
            authorize(conn, self._ctx.actor, Action.READ, exp.project_id, project.entity.name)
            metric_pk = metric_rows.metric_id(conn, exp.pk, key)
            if metric_pk is None:
                known = ", ".join(metric_rows.metric_keys(conn, exp.pk)[:20]) or "none"
                raise MetricNotFound(
                    f"experiment {exp.public_id} has no metric {key!r} (it has: {known})"
                )
            return metric_rows.read_chunks(conn, metric_pk)

        history = _merge(key, self._ctx.read(run))
        if max_points is not None and len(history) > max_points:
            keep = lttb_indices(history.steps, history.values, max_points)
            history = MetricHistory(
                key,
                [history.steps[i] for i in keep],
                [history.timestamps[i] for i in keep],
                [history.values[i] for i in keep],
            )
        return history


def _merge(key: str, chunks: list[tuple[bytes, bytes, bytes]]) -> MetricHistory:
    steps: list[int] = []
    timestamps: list[float] = []
    values: list[float] = []
    for packed in chunks:
        s, t, v = decode_chunk(*packed)
        steps.extend(s)
        timestamps.extend(t)
        values.extend(v)
    if _ordered(steps, timestamps):
        return MetricHistory(key, steps, timestamps, values)
    order = sorted(range(len(steps)), key=lambda i: (steps[i], timestamps[i]))
    return MetricHistory(
        key, [steps[i] for i in order], [timestamps[i] for i in order], [values[i] for i in order]
    )


def _ordered(steps: list[int], timestamps: list[float]) -> bool:
    for i in range(1, len(steps)):
        if steps[i] < steps[i - 1] or (
            steps[i] == steps[i - 1] and timestamps[i] < timestamps[i - 1]
        ):
            return False
    return True
