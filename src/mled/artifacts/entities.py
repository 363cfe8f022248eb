"""Domain objects of artifacts, datasets, models, lineage and integrity checks.

Frozen, framework-free dataclasses returned by the service layer; table rows are converted to
them in ``mled.store.sql.{artifacts,datasets,models}`` only.

Example:
    >>> entry = FileEntry(size=3, sha256="ab" * 32)
    >>> manifest_digest({"b.txt": entry}) == manifest_digest({"b.txt": entry})
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import mled.artifacts.errors  # noqa: F401  (registers the error classes with `import mled`)

ROLES = ("train", "validation", "test")
"""Roles an experiment can give a dataset version it uses."""


class FileEntry(NamedTuple):
    """One file of a manifest: its size in bytes and the hex SHA-256 of its content."""

    size: int
    sha256: str


Manifest = Mapping[str, FileEntry]
"""Normalized relative path -> FileEntry."""


def canonical_manifest(manifest: Manifest) -> bytes:
    """The one byte encoding of a manifest that its digest is computed over.

    A JSON object sorted by path, each value ``[size, sha256]``, no spaces, UTF-8.

    Example:
        >>> canonical_manifest({"a.txt": FileEntry(1, "00" * 32)})[:16]
        b'{"a.txt":[1,"000'
    """
    items = {path: [int(e.size), e.sha256] for path, e in sorted(manifest.items())}
    return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def manifest_digest(manifest: Manifest) -> str:
    """The root digest of a manifest: SHA-256 of its canonical encoding.

    Two folders have the same root digest exactly when they hold the same relative paths
    with the same contents.
    """
    return hashlib.sha256(canonical_manifest(manifest)).hexdigest()


def parse_manifest(text: str) -> dict[str, FileEntry]:
    """Inverse of :func:`canonical_manifest` (for manifests read back from the store)."""
    return {path: FileEntry(int(v[0]), str(v[1])) for path, v in json.loads(text).items()}


@dataclass(frozen=True, slots=True)
class BlobRef:
    """An object in the blob store: its digest (the key) and size."""

    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class ArtifactEntry:
    """What a client registers: a logical path and the stored object it names."""

    path: str
    digest: str
    size: int
    media_type: str | None = None


@dataclass(frozen=True, slots=True)
class Artifact:
    """A file an experiment logged, at a logical path; the bytes live under ``digest``."""

    experiment_id: str
    path: str
    digest: str
    size: int
    media_type: str | None
    created_at: datetime


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset version as a client describes it when an experiment uses it.

    ``manifest`` is None for a dataset known only by its URI (never read, only recorded);
    ``stored`` says the client has put every file's bytes in the blob store.
    """

    name: str
    manifest: Manifest | None
    source_uri: str | None = None
    stored: bool = False
    role: str = "train"


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named dataset of a project and its number of versions."""

    id: str
    project: str
    name: str
    created_at: datetime
    latest_version: int


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One content version of a dataset: 1, 2, 3 ... per name, a new one per new content.

    ``digest`` is the root digest over the manifest (or over the source URI for a dataset
    known only by URI). ``manifest`` is filled when a single version is asked for.
    """

    id: str
    project: str
    name: str
    version: int
    digest: str
    file_count: int
    size: int
    source_uri: str | None
    stored: bool
    created_at: datetime
    created_by: str
    manifest: dict[str, FileEntry] | None = None

    @property
    def ref(self) -> str:
        """``name:version``, as the CLI accepts it."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class DatasetUse:
    """An experiment's use of a dataset version, with its role."""

    experiment_id: str
    dataset: DatasetVersion
    role: str


@dataclass(frozen=True, slots=True)
class DatasetDiff:
    """Paths added, removed and changed (different content) from one version to another."""

    name: str
    from_version: int
    to_version: int
    added: list[str]
    removed: list[str]
    changed: list[str]


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A registered version of a model: an experiment's artifact (file or folder)."""

    id: str
    project: str
    name: str
    version: int
    experiment_id: str
    artifact_path: str
    digest: str
    size: int
    file_count: int
    created_at: datetime
    created_by: str
    aliases: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class AliasMove:
    """One change of an alias: from a version (None: new alias) to one (None: deleted)."""

    model: str
    alias: str
    from_version: int | None
    to_version: int | None
    time: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class Model:
    """A registered model, its latest version number and its aliases (alias -> version)."""

    id: str
    project: str
    name: str
    created_at: datetime
    latest_version: int
    aliases: dict[str, int]


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """A model with every version and the history of its alias moves (oldest first)."""

    model: Model
    versions: list[ModelVersion]
    alias_history: list[AliasMove]


@dataclass(frozen=True)
class LineageNode:
    """A node of a lineage tree: an experiment, a dataset version or a model version.

    ``relation`` says how it relates to its parent (``trained on (train)``, ``registered as``
    ...); ``details`` holds kind-specific facts (the code version of an experiment).
    """

    kind: str
    ref: str
    label: str
    relation: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    children: list[LineageNode] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IntegrityProblem:
    """A stored object that is missing or whose bytes no longer match its digest.

    ``names`` lists what refers to it (``experiment 0190... artifact 'model.pt'``).
    """

    kind: str
    digest: str
    names: list[str]
    message: str


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    ok: bool
    objects_checked: int
    bytes_checked: int
    problems: list[IntegrityProblem]


@dataclass(frozen=True, slots=True)
class StoredItem:
    """Something a scan of the blob store found: an unfinished upload or a complete object.

    ``key`` is relative to the store's root (``tmp/<name>``, ``objects/ab/cdef...``);
    ``kind`` is ``upload`` (a temporary file or object), ``multipart`` (an S3 multipart upload
    never completed nor aborted) or ``object``; ``modified`` is its last write (UTC).
    ``action`` is what garbage collection did: ``removed``, ``would_remove`` (a dry run) or
    ``kept``.
    """

    key: str
    kind: str
    size: int
    modified: datetime
    action: str = "kept"


@dataclass(frozen=True, slots=True)
class GcReport:
    """What garbage collection of the blob store found and did (``mled artifacts gc``).

    ``uploads`` lists every temporary upload: removed when not written to for ``older_than``
    seconds, kept when younger (it may still be being written). ``unreferenced`` lists the
    complete objects that no artifact and no dataset version refers to; they are removed only
    when asked for, and only once older than the grace period too. ``objects`` counts the
    complete objects scanned; ``bytes_freed`` what was (or, in a dry run, would be) freed.
    """

    store: str
    older_than: float
    dry_run: bool
    uploads: list[StoredItem]
    unreferenced: list[StoredItem]
    objects: int
    bytes_freed: int
