"""Core tables: users, projects, memberships, experiments, params, tags, metrics, their
per-experiment summaries, audit."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from mled.store.sql.tables.meta import (
    KEY_LENGTH,
    NAME_LENGTH,
    NUMBER_ROWS,
    PREFIX_LENGTH,
    TEXT_ROWS,
    code_point_text,
    metadata,
    partial,
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(NAME_LENGTH), nullable=False, unique=True),
    Column("password_hash", Text, nullable=True),
    Column("is_admin", Boolean, nullable=False, default=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Double, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("name", String(NAME_LENGTH), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("created_at", Double, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    Column("role", String(32), nullable=False),
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("group_name", String(NAME_LENGTH), nullable=True),
    Column("parent_id", Integer, ForeignKey("experiments.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("started_at", Double, nullable=True),
    Column("ended_at", Double, nullable=True),
    Column("notes", Text, nullable=False, default=""),
    Column("seeds", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("reproduction_of", Integer, ForeignKey("experiments.id"), nullable=True),
    Column("git_commit", String(64), nullable=True),
    Column("git_branch", String(NAME_LENGTH), nullable=True),
    # The capture records come last: they can be many KiB (a package list), and SQLite reads
    # a row's columns in order, so columns after them would cost overflow-page reads.
    Column("source", Text, nullable=True),
    Column("command", Text, nullable=True),
    Column("environment", Text, nullable=True),
    Index(None, "project_id", "created_at"),
    Index(None, "created_at"),
    Index(None, "status"),
    Index(None, "owner_id"),
    Index(None, "name"),
)

params = Table(
    "params",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.id"), primary_key=True),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("value_type", String(8), nullable=False),
    Column("value_text", code_point_text(), nullable=False),
    Column("value_num", Double, nullable=True),
    # The first PREFIX_LENGTH characters of value_text: values may be 64 KiB long, more than a
    # PostgreSQL btree row holds, so equality lookups go through this indexed prefix and then
    # compare the full text.
    Column("value_prefix", code_point_text(PREFIX_LENGTH), nullable=False),
    # Each row is in one of the two value indexes, never both: a number is found by value_num,
    # other text by its prefix (a number's text is found through value_num too, see
    # mled.query.conditions.param_text_test). One index entry per row instead of two: a new
    # experiment dirties a quarter fewer pages (migration 0002). value_num, always NULL in the
    # second index, makes it cover "value_num IS NULL AND value_prefix = ?": SQLite (3.40) does
    # not drop a term the index's own WHERE implies, and would read each row to test it.
    Index(None, "key", "value_num", "experiment_id", **partial(NUMBER_ROWS)),
    Index(None, "key", "value_prefix", "experiment_id", "value_num", **partial(TEXT_ROWS)),
    # Rows are small and always reached by their key or through an index holding the whole
    # key, so SQLite keeps them in the key's b-tree: one b-tree fewer to update per insert.
    sqlite_with_rowid=False,
)

tags = Table(
    "tags",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.id"), primary_key=True),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("value", code_point_text(), nullable=False),
    Column("value_prefix", code_point_text(PREFIX_LENGTH), nullable=False),
    Index(None, "key", "value_prefix", "experiment_id"),
    sqlite_with_rowid=False,
)

# One row per (experiment, key): the summary queries filter and sort on. ``last`` is NULL when
# the last value is NaN (SQLite cannot store NaN); min/max ignore NaN values.
#
# The primary key is (experiment, key), and on SQLite the rows live in its b-tree (WITHOUT
# ROWID): a search probes "metric m0 of experiment e" for thousands of candidates, and each
# probe then reads ``last`` from the same b-tree page instead of a second lookup (q1 of the
# search benchmark: 52 -> 22 ms at 100,000 experiments). ``id`` is what chunks refer to; it is
# drawn with ``reserve_ids`` (SQLite: the next free values under the write lock; PostgreSQL:
# the identity sequence).
metrics = Table(
    "metrics",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.id"), primary_key=True),
    Column("key", String(KEY_LENGTH), primary_key=True),
    Column("id", Integer, Identity(), nullable=False, unique=True),
    Column("last", Double, nullable=True),
    Column("min", Double, nullable=True),
    Column("max", Double, nullable=True),
    Column("count", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("last_timestamp", Double, nullable=False),
    # min, max and count ride along (migration 0005) so that filters on them read this index
    # alone: at 100,000 experiments, every match of ``metrics.m0.max < 0.1`` 451 -> 51 ms of
    # SQL, ``metrics.m0.count > 3`` 305 -> 20 ms. Creation cost 3-4% in one trial and nothing
    # above the noise in another (docs/benchmarks.md).
    Index(None, "key", "last", "experiment_id", "min", "max", "count"),
    sqlite_with_rowid=False,
)

# One row per experiment: its params, tags and metric summaries encoded for loading, derived
# from the three tables above and rewritten in every transaction that changes them (see
# ``mled.store.sql.summaries``). Search results load one row per experiment instead of ~35.
experiment_summaries = Table(
    "experiment_summaries",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.id"), primary_key=True),
    Column("params", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("metric_keys", Text, nullable=False),
    Column("metric_values", LargeBinary, nullable=False),
)

# A history is stored as chunks: per flush and key, packed little-endian arrays of int64 steps,
# float64 timestamps and float64 values. ``digest`` is SHA-256 over the three arrays and is also
# recorded in the audit event of the flush (``audit_seq``), so tampering with values is detected.
metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("metric_id", Integer, ForeignKey("metrics.id"), nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("steps", LargeBinary, nullable=False),
    Column("timestamps", LargeBinary, nullable=False),
    Column("values", LargeBinary, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("audit_seq", BigInteger, nullable=False),
    Index(None, "metric_id", "first_step"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("time", Double, nullable=False),
    Column("actor", String(NAME_LENGTH), nullable=False),
    Column("action", String(64), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "object_type", "object_id"),
)

# The head of the audit chain: one row, locked by every writer, so the chain stays linear even
# with many concurrent server processes; it also makes deleting the newest events detectable.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Experiments created by ``log_experiment`` whose rows in the tables above are not written yet
# (see ``mled.service.staging``): the call commits its audit event and this one row, and the
# rows are written in batches, before any other transaction reads or writes the store. ``seq``
# is the sequence number of the ``experiment.create`` event; ``document`` holds the rows as JSON
# and ``data`` their binary values (metric chunks, packed summaries), which the document sizes.
staged_experiments = Table(
    "staged_experiments",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("document", Text, nullable=False),
    Column("data", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)
