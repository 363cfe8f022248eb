"""Staged creations: ``log_experiment`` commits one row, its experiment's rows follow in batches.

Creating an experiment with 20 params, 10 metrics and 5 tags adds about 50 rows and as many
index entries; the entries of the per-key value indexes (what makes searches fast) land on a
different b-tree page per key, so committing one experiment rewrites about 68 pages of a
SQLite store (docs/benchmarks.md). Written hundreds at a time, the same experiments share most of
those pages. So :meth:`ExperimentService.create` validates and encodes the experiment, checks
the caller may log to the project, records its ``experiment.create`` audit event and commits
the encoded rows as one ``staged_experiments`` row (:func:`mled.store.sql.staged.stage`):
the experiment is durable and acknowledged when the call returns.

Its rows are written by :func:`write_staged`, which every other service transaction runs
first (:class:`mled.service.context.ServiceContext`): a write before its own change, a read
in a write transaction of its own before reading. No read can see the store without an
acknowledged experiment, and every change lands after the creations acknowledged before it,
so the experiments get their keys in the order they were created, and a staged experiment
can never conflict with the state it is written into (that state is the one it was checked
against, plus other creations). Creation calls also write the staged experiments once the
oldest is :data:`STAGE_LIMIT` audit events old, which bounds what a read may have to write
first.

Example:
    >>> exp = services.experiments.create(NewExperiment(project="p", name="n"))  # doctest: +SKIP
    >>> # the read below writes the staged rows first
    >>> services.experiments.get(exp.id).name  # doctest: +SKIP
    'n'
"""

from __future__ import annotations

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from mled.store.sql.new_experiments import insert_new_experiments
from mled.store.sql.staged import staged_batch, unstage, unwritable_stage

STAGE_LIMIT = 250
"""Creation calls write the staged experiments once the oldest is this many events old.

A larger stage would not make creation faster over all (250, 1,000 and 4,000 gave the same
rate, creations and the first read after them together, docs/benchmarks.md), only make the
read that writes it wait longer."""
WRITE_BATCH = 1_000
"""Staged experiments written per statement."""


def write_staged(conn: Connection) -> int:
    """Write every staged experiment's rows, oldest first, in this (write) transaction;
    returns how many were written.

    Raises:
        StoreUnavailable: a staged row cannot be read or written (only a bug or a hand edit
            of the database can cause it); the rows stay staged, and every service call
            fails with this error until they can be written.
    """
    written = 0
    while batch := staged_batch(conn, limit=WRITE_BATCH):
        try:
            insert_new_experiments(conn, batch)
        except IntegrityError as err:
            first, last = batch[0].audit_seq, batch[-1].audit_seq
            raise unwritable_stage(f"audit events {first}-{last}", str(err.orig)) from err
        unstage(conn, batch[-1].audit_seq)
        written += len(batch)
    return written


def stage_is_full(oldest: int | None, seq: int) -> bool:
    """Whether a creation whose event is ``seq`` must write the staged experiments, the
    oldest of which has the event ``oldest``: it is :data:`STAGE_LIMIT` events old."""
    return oldest is not None and seq - oldest >= STAGE_LIMIT
