"""Artifact, dataset and model-registry tables: the lineage graph of experiments.

Bytes live in the content-addressed blob store; these tables hold what refers to them by
SHA-256 digest. Edges of the lineage graph: an experiment's artifacts (``artifacts``), the
dataset versions it used with their role (``dataset_inputs``), and the model versions
registered from its artifacts (``model_versions.experiment_id``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mled.store.sql.tables.meta import NAME_LENGTH, metadata

PATH_LENGTH = 1024
DIGEST_LENGTH = 64
ALIAS_LENGTH = 64

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("path", String(PATH_LENGTH), nullable=False),
    Column("digest", String(DIGEST_LENGTH), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=True),
    Column("created_at", Double, nullable=False),
    UniqueConstraint("experiment_id", "path"),
    Index(None, "digest"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    UniqueConstraint("project_id", "name"),
    Index(None, "name"),
)

# ``manifest`` is the canonical JSON manifest ({path: [size, sha256]}) and ``digest`` its
# SHA-256, so the stored manifest can be checked against the digest recorded in the audit log.
# A dataset known only by URI has no manifest; its digest is taken over the URI.
dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(DIGEST_LENGTH), nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("manifest", Text, nullable=True),
    Column("source_uri", Text, nullable=True),
    Column("stored", Boolean, nullable=False, default=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    UniqueConstraint("dataset_id", "version"),
    Index(None, "dataset_id", "digest"),
)

dataset_inputs = Table(
    "dataset_inputs",
    metadata,
    Column("experiment_id", Integer, ForeignKey("experiments.id"), primary_key=True),
    Column("dataset_version_id", Integer, ForeignKey("dataset_versions.id"), primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("created_at", Double, nullable=False),
    Index(None, "dataset_version_id"),
)

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(NAME_LENGTH), nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    UniqueConstraint("project_id", "name"),
    Index(None, "name"),
)

# A version is an experiment's artifact: one file, or every file under a folder path; its
# ``digest`` is the file's SHA-256 or the root digest of the folder's manifest.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(36), nullable=False, unique=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("artifact_path", String(PATH_LENGTH), nullable=False),
    Column("digest", String(DIGEST_LENGTH), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id"), nullable=False),
    UniqueConstraint("model_id", "version"),
    Index(None, "experiment_id"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id"), primary_key=True),
    Column("alias", String(ALIAS_LENGTH), primary_key=True),
    Column("version_id", Integer, ForeignKey("model_versions.id"), nullable=False),
)

# Every move of an alias, oldest first: from_version NULL creates it, to_version NULL deletes it.
model_alias_moves = Table(
    "model_alias_moves",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("alias", String(ALIAS_LENGTH), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("time", Double, nullable=False),
    Column("actor_id", Integer, ForeignKey("users.id"), nullable=False),
    Index(None, "model_id", "id"),
)
