"""Datasets: content versions (1, 2, 3 ... per name and project) and the experiments using them.

A version is identified by the root digest of its manifest (relative path -> size, SHA-256),
so logging the same content again reuses the version that has it and changed content gets the
next number. The service recomputes the root digest from the manifest itself and, for
``stored`` versions, checks every file's object in the blob store; a source URI is only
recorded, never opened.

Example:
    >>> files = {"a.png": FileEntry(3, "ab" * 32)}  # doctest: +SKIP
    >>> spec = DatasetSpec("cifar10", files, role="train")  # doctest: +SKIP
    >>> services.datasets.log(exp.id, spec).version  # doctest: +SKIP
    1
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection

from mled.artifacts.blobstore import BlobStore, check_digest
from mled.artifacts.entities import (
    ROLES,
    Dataset,
    DatasetDiff,
    DatasetSpec,
    DatasetUse,
    DatasetVersion,
    FileEntry,
    canonical_manifest,
    manifest_digest,
)
from mled.artifacts.errors import DatasetNotFound
from mled.artifacts.refs import Ref, parse_ref, validate_asset_name
from mled.errors import Conflict, InvalidInput
from mled.ids import new_id
from mled.paths import normalize_path
from mled.service.artifacts import (
    check_in_store,
    lookup_named,
    readable_experiment,
    readable_projects,
    require_blobs,
)
from mled.service.audit import AuditWriter
from mled.service.context import ServiceContext
from mled.service.experiments import ExperimentService
from mled.store.sql import datasets as rows
from mled.store.sql.datasets import DatasetKey

MAX_SOURCE_URI = 2048


def check_role(role: object) -> str:
    if role not in ROLES:
        raise InvalidInput(f"dataset role {role!r} is not one of {', '.join(ROLES)}")
    return str(role)


def check_source_uri(uri: object) -> str | None:
    """A source URI or path is recorded as text; it is never opened by the service."""
    if uri is None:
        return None
    if not isinstance(uri, str) or not uri.strip() or len(uri) > MAX_SOURCE_URI:
        raise InvalidInput(f"dataset source {str(uri)[:80]!r} is empty, not text or too long")
    if not uri.isprintable():
        raise InvalidInput(f"dataset source {uri[:80]!r} contains control characters")
    return uri


def normalize_manifest(manifest: Mapping[str, Any]) -> dict[str, FileEntry]:
    """Check every path, size and digest of a client's manifest; return it normalized."""
    out: dict[str, FileEntry] = {}
    for raw_path, raw in manifest.items():
        path = normalize_path(raw_path, "dataset file")
        if path in out:
            raise InvalidInput(f"dataset file {path!r} appears twice in the manifest")
        try:
            size, digest = raw
        except (TypeError, ValueError):
            raise InvalidInput(f"dataset file {path!r} has no (size, sha256) pair") from None
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput(f"dataset file {path!r} has the size {size!r}")
        out[path] = FileEntry(size, check_digest(digest))
    return dict(sorted(out.items()))


class DatasetService:
    """Dataset versions, their use by experiments, diffs and verified file reads."""

    def __init__(self, ctx: ServiceContext, blobs: BlobStore | None) -> None:
        self._ctx = ctx
        self._blobs = blobs
        self._experiments = ExperimentService(ctx)

    # --- logging ------------------------------------------------------------------------------

    def log(self, experiment_id: str, spec: DatasetSpec) -> DatasetVersion:
        """Record that an experiment used a dataset version (created when its content is new)."""
        name = validate_asset_name(spec.name, "dataset")
        role = check_role(spec.role)
        source = check_source_uri(spec.source_uri)
        if spec.manifest is None:
            if source is None:
                raise InvalidInput(f"dataset {name!r} has neither files nor a source URI")
            if spec.stored:
                raise InvalidInput(
                    f"dataset {name!r} is given only by its URI, so no bytes can be stored",
                    hint="Pass a local file or folder to store its bytes, or store=False.",
                )
            manifest: dict[str, FileEntry] = {}
            digest = hashlib.sha256(b"uri:" + source.encode("utf-8")).hexdigest()
            text = None
        else:
            manifest = normalize_manifest(spec.manifest)
            if not manifest:
                raise InvalidInput(f"dataset {name!r} has no files")
            digest = manifest_digest(manifest)
            text = canonical_manifest(manifest).decode("utf-8")
        if spec.stored:
            unique = {e.sha256: (e.size, p) for p, e in manifest.items()}
            check_in_store(
                require_blobs(self._blobs),
                ((d, s, f"dataset {name!r} file {p!r}") for d, (s, p) in unique.items()),
            )
        facts = {
            "digest": digest,
            "file_count": len(manifest),
            "size": sum(e.size for e in manifest.values()),
            "manifest": text,
            "source_uri": source,
            "stored": spec.stored,
        }

        def run(conn: Connection, audit: AuditWriter) -> int:
            key = self._experiments.writable(conn, experiment_id, running=False)
            dataset = self._get_or_create(conn, audit, key.project_id, name)
            version_pk, version = self._version_for(conn, audit, dataset, facts)
            if rows.add_use(conn, key.pk, version_pk, role, audit.now):
                audit.record(
                    "dataset.use",
                    "experiment",
                    key.public_id,
                    after={"dataset": name, "version": version, "role": role, "digest": digest},
                )
            return version_pk

        version_pk = self._ctx.write(run)
        return self._ctx.read(lambda conn: rows.get_version_by_pk(conn, version_pk))

    def _get_or_create(
        self, conn: Connection, audit: AuditWriter, project_pk: int, name: str
    ) -> DatasetKey:
        found = rows.get(conn, project_pk, name)
        if found is not None:
            return found
        public_id = new_id()
        rows.insert_dataset(
            conn,
            {
                "public_id": public_id,
                "project_id": project_pk,
                "name": name,
                "created_at": audit.now,
                "created_by": self._ctx.actor.id,
            },
        )
        audit.record("dataset.create", "dataset", public_id, after={"name": name})
        created = rows.get(conn, project_pk, name)
        assert created is not None
        return created

    def _version_for(
        self, conn: Connection, audit: AuditWriter, dataset: DatasetKey, facts: dict[str, Any]
    ) -> tuple[int, int]:
        """(key, number) of the version with this content: existing or new."""
        found = rows.version_by_digest(conn, dataset.pk, facts["digest"])
        if found is not None:
            pk, version = found
            if facts["stored"] and not version.stored:
                rows.mark_stored(conn, pk)
                audit.record(
                    "dataset.store",
                    "dataset_version",
                    version.id,
                    before={"stored": False},
                    after={"stored": True, "dataset": dataset.name, "version": version.version},
                )
            return pk, version.version
        number = rows.next_version(conn, dataset.pk)
        public_id = new_id()
        pk = rows.insert_version(
            conn,
            {
                **facts,
                "public_id": public_id,
                "dataset_id": dataset.pk,
                "version": number,
                "created_at": audit.now,
                "created_by": self._ctx.actor.id,
            },
        )
        audit.record(
            "dataset.version.create",
            "dataset_version",
            public_id,
            after={
                "dataset": dataset.name,
                "project": dataset.project,
                "version": number,
                **{k: v for k, v in facts.items() if k != "manifest"},
            },
        )
        return pk, number

    # --- reading ------------------------------------------------------------------------------

    def find_dataset(self, conn: Connection, name: str, project: str | None) -> DatasetKey:
        """Inside a read: the dataset called ``name`` the caller may read."""
        return lookup_named(
            conn, self._ctx.actor, name, project, rows.find, "dataset", DatasetNotFound
        )

    def _version(
        self, conn: Connection, ref: Ref, project: str | None, *, with_manifest: bool
    ) -> tuple[int, DatasetVersion]:
        dataset = self.find_dataset(conn, ref.name, project)
        found = rows.get_version(conn, dataset.pk, ref.version, with_manifest=with_manifest)
        if found is None:
            latest = rows.next_version(conn, dataset.pk) - 1
            raise DatasetNotFound(
                f"dataset {ref.name!r} has no version {ref.version}; the latest is {latest}"
            )
        return found

    def versions(self, name: str, project: str | None = None) -> list[DatasetVersion]:
        """Every version of a dataset, oldest first."""
        validate_asset_name(name, "dataset")
        return self._ctx.read(
            lambda conn: rows.list_versions(conn, self.find_dataset(conn, name, project).pk)
        )

    def get_version(self, ref: str, project: str | None = None) -> DatasetVersion:
        """``NAME`` (latest) or ``NAME:VERSION``, with its manifest."""
        parsed = parse_ref(ref, "dataset", allow_alias=False)
        return self._ctx.read(
            lambda conn: self._version(conn, parsed, project, with_manifest=True)[1]
        )

    def diff(
        self, name: str, from_version: int, to_version: int, project: str | None = None
    ) -> DatasetDiff:
        """Files added, removed and changed between two versions."""
        a = self.get_version(f"{name}:{from_version}", project).manifest or {}
        b = self.get_version(f"{name}:{to_version}", project).manifest or {}
        return DatasetDiff(
            name=name,
            from_version=from_version,
            to_version=to_version,
            added=sorted(set(b) - set(a)),
            removed=sorted(set(a) - set(b)),
            changed=sorted(p for p in set(a) & set(b) if a[p] != b[p]),
        )

    def read_files(
        self, ref: str, project: str | None = None
    ) -> tuple[DatasetVersion, Iterator[tuple[str, Iterator[bytes]]]]:
        """A stored version and (path, verified chunks) of each of its files, by path."""
        version = self.get_version(ref, project)
        if not version.stored:
            where = f" (source: {version.source_uri})" if version.source_uri else ""
            raise Conflict(
                f"dataset {version.ref} was logged without its bytes{where}",
                hint="Log the dataset again with store=True to keep its files in MLED.",
            )
        blobs = require_blobs(self._blobs)
        files = version.manifest or {}
        return version, (
            (
                path,
                blobs.read(e.sha256, name=f"file {path!r} of dataset {version.ref}", size=e.size),
            )
            for path, e in files.items()
        )

    def read_file(
        self, ref: str, path: str, project: str | None = None
    ) -> tuple[FileEntry, Iterator[bytes]]:
        """One file of a stored version and its verified chunks (what a download route
        streams); DatasetNotFound when the version has no such file."""
        normal = normalize_path(path, "dataset file")
        version, _ = self.read_files(ref, project)
        entry = (version.manifest or {}).get(normal)
        if entry is None:
            raise DatasetNotFound(f"dataset {version.ref} has no file {normal!r}")
        name = f"file {normal!r} of dataset {version.ref}"
        return entry, require_blobs(self._blobs).read(entry.sha256, name=name, size=entry.size)

    def uses(self, experiment_id: str) -> list[DatasetUse]:
        """The dataset versions an experiment used, with their roles."""

        def run(conn: Connection) -> list[DatasetUse]:
            key = readable_experiment(conn, self._ctx.actor, experiment_id)
            return [
                DatasetUse(key.public_id, rows.get_version_by_pk(conn, pk), role)
                for pk, role in rows.uses_of_experiment(conn, key.pk)
            ]

        return self._ctx.read(run)

    def list(self, project: str | None = None) -> list[Dataset]:
        """Datasets of the projects the caller may read (or of ``project``)."""

        def run(conn: Connection) -> list[Dataset]:
            if project is None:
                return rows.list_datasets(conn, readable_projects(conn, self._ctx.actor))
            ids = readable_projects(conn, self._ctx.actor)
            return [d for d in rows.list_datasets(conn, ids) if d.project == project]

        return self._ctx.read(run)
