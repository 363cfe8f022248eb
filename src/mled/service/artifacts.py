"""Artifacts: streaming uploads into the blob store, registration, listing, verified reads.

An upload has two steps, each of which maps onto one HTTP request later: bytes go into the
blob store through a :class:`BlobUploader` (authorized once for an experiment; each ``put``
takes an iterator of chunks), then :meth:`ArtifactService.register` records the logical paths
in one transaction with one audit event. The service never trusts a client's claim that an
object exists: registration checks every digest and size against the store first.

Example:
    >>> uploader = services.artifacts.uploader(exp.id)  # doctest: +SKIP
    >>> ref = uploader.put(iter([b"weights"]))  # doctest: +SKIP
    >>> entry = ArtifactEntry("model.bin", ref.digest, ref.size)  # doctest: +SKIP
    >>> services.artifacts.register(exp.id, [entry])[0].path  # doctest: +SKIP
    'model.bin'
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import Connection

from mled.artifacts.blobstore import BlobStore, check_digest
from mled.artifacts.entities import Artifact, ArtifactEntry, BlobRef
from mled.artifacts.errors import ArtifactConflict, ArtifactNotFound
from mled.auth.permissions import Action
from mled.entities import User
from mled.errors import AmbiguousId, InvalidInput, NotFound, ProjectNotFound, StoreUnavailable
from mled.paths import normalize_path, normalize_prefix
from mled.service.audit import AuditWriter
from mled.service.authorization import authorize
from mled.service.context import ServiceContext
from mled.service.experiments import ExperimentService, resolve
from mled.store.sql import artifacts as rows
from mled.store.sql import projects as project_rows
from mled.store.sql import users as user_rows
from mled.store.sql.experiments import ExperimentKey

K = TypeVar("K")
MAX_MEDIA_TYPE = 128


def require_blobs(blobs: BlobStore | None) -> BlobStore:
    """The configured blob store, or a clear error when there is none."""
    if blobs is None:
        raise StoreUnavailable(
            "no artifact store is configured for this service",
            hint="Set MLED_ARTIFACTS_URI (SDK) or MLED_SERVER_ARTIFACTS (server).",
        )
    return blobs


def readable_projects(conn: Connection, actor: User) -> list[int] | None:
    """Keys of the projects ``actor`` may read (None: every project, for admins)."""
    return None if actor.is_admin else user_rows.readable_project_ids(conn, actor.id)


def readable_experiment(conn: Connection, actor: User, experiment_id: str) -> ExperimentKey:
    """Resolve an experiment ID (or prefix) the actor may read."""
    key = resolve(conn, experiment_id)
    project = project_rows.get_project_by_pk(conn, key.project_id)
    assert project is not None
    authorize(conn, actor, Action.READ, key.project_id, project.entity.name)
    return key


def lookup_named(
    conn: Connection,
    actor: User,
    name: str,
    project: str | None,
    find: Callable[[Connection, str, list[int] | None], list[K]],
    kind: str,
    not_found: type[NotFound],
) -> K:
    """The dataset or model called ``name`` in ``project``, or in the one readable project
    that has one; several candidates raise AmbiguousId naming their projects."""
    if project is not None:
        row = project_rows.get_project(conn, project)
        if row is None:
            raise ProjectNotFound(f"project {project!r} does not exist")
        authorize(conn, actor, Action.READ, row.pk, project)
        found = find(conn, name, [row.pk])
    else:
        found = find(conn, name, readable_projects(conn, actor))
    if not found:
        where = f" in project {project!r}" if project is not None else ""
        raise not_found(f"no {kind} is named {name!r}{where}")
    if len(found) > 1:
        places = [str(getattr(k, "project", "?")) for k in found]
        raise AmbiguousId(
            f"{len(found)} projects have a {kind} named {name!r}: {', '.join(places)}",
            hint="Name the project: --project NAME in the CLI, project=NAME in the SDK.",
            details={"candidates": places},
        )
    return found[0]


def check_entries(entries: Sequence[ArtifactEntry]) -> list[ArtifactEntry]:
    """Validate and normalize what a client wants to register (paths, digests, sizes)."""
    out: list[ArtifactEntry] = []
    seen: set[str] = set()
    for e in entries:
        path = normalize_path(e.path)
        if path in seen:
            raise InvalidInput(f"artifact path {path!r} appears twice in one upload")
        seen.add(path)
        if isinstance(e.size, bool) or not isinstance(e.size, int) or e.size < 0:
            raise InvalidInput(f"artifact {path!r} has the size {e.size!r}; sizes are bytes >= 0")
        media = e.media_type
        if media is not None and (
            not isinstance(media, str) or len(media) > MAX_MEDIA_TYPE or not media.isprintable()
        ):
            raise InvalidInput(f"artifact {path!r} has an invalid media type {media!r}")
        out.append(ArtifactEntry(path, check_digest(e.digest), e.size, media))
    return out


def check_in_store(blobs: BlobStore, wanted: Iterable[tuple[str, int, str]]) -> None:
    """Refuse to record objects the store does not hold: (digest, size, name) triples."""
    blobs.sync()
    wanted = list(wanted)
    stored_sizes = blobs.sizes(d for d, _, _ in wanted)
    for digest, size, name in wanted:
        stored = stored_sizes[digest]
        if stored != size:
            state = "is not in the artifact store" if stored is None else f"has {stored} bytes"
            raise InvalidInput(
                f"{name}: object {digest} {state}; {size} bytes were announced",
                hint="Upload the bytes first (the SDK does this for you), then register them.",
            )


class BlobUploader:
    """Puts bytes into the blob store for one experiment the caller may write to.

    With ``deferred`` the objects are made durable by the registration that follows (one
    file-system sync for a whole folder); a server answering one request per object leaves it
    off so that every acknowledged object is durable on its own.
    """

    def __init__(self, blobs: BlobStore, experiment_id: str, *, deferred: bool) -> None:
        self.experiment_id = experiment_id
        self._blobs = blobs
        self._deferred = deferred

    def put(
        self, chunks: Iterable[bytes], *, digest: str | None = None, size: int | None = None
    ) -> BlobRef:
        """Store a stream of bytes; ``digest``/``size`` (when known) are verified."""
        return self._blobs.put(
            chunks, expected_digest=digest, expected_size=size, sync=not self._deferred
        )

    def missing(self, digests: Collection[str]) -> set[str]:
        """Which of these digests the store lacks (so that only those are uploaded)."""
        return self._blobs.missing(check_digest(d) for d in digests)


class ArtifactService:
    """Artifacts of experiments; bytes in ``blobs``, records in the SQL store."""

    def __init__(self, ctx: ServiceContext, blobs: BlobStore | None) -> None:
        self._ctx = ctx
        self._blobs = blobs
        self._experiments = ExperimentService(ctx)

    @property
    def blobs(self) -> BlobStore:
        return require_blobs(self._blobs)

    def _writable(self, conn: Connection, experiment_id: str) -> ExperimentKey:
        return self._experiments.writable(conn, experiment_id, running=False)

    # --- writing ----------------------------------------------------------------------------

    def uploader(self, experiment_id: str, *, deferred: bool = False) -> BlobUploader:
        """An uploader for ``experiment_id``, after checking the caller may log to it."""
        blobs = self.blobs
        key = self._ctx.read(lambda conn: self._writable(conn, experiment_id))
        return BlobUploader(blobs, key.public_id, deferred=deferred)

    def upload(
        self,
        experiment_id: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        media_type: str | None = None,
        digest: str | None = None,
        size: int | None = None,
    ) -> Artifact:
        """Stream one file and register it (what a single-request upload route calls)."""
        path = normalize_path(path)
        ref = self.uploader(experiment_id).put(chunks, digest=digest, size=size)
        entry = ArtifactEntry(path, ref.digest, ref.size, media_type)
        return self.register(experiment_id, [entry])[0]

    def register(self, experiment_id: str, entries: Sequence[ArtifactEntry]) -> list[Artifact]:
        """Record logical paths for stored objects, in one transaction and one audit event.

        Registering a path again with the same content is a no-op (so retries are safe);
        with other content it is an ArtifactConflict, as is a path that would be both a file
        and a folder.
        """
        clean = check_entries(entries)
        if not clean:
            return []
        check_in_store(self.blobs, ((e.digest, e.size, f"artifact {e.path!r}") for e in clean))

        def run(conn: Connection, audit: AuditWriter) -> int:
            key = self._writable(conn, experiment_id)
            existing = rows.stored_paths(conn, key.pk)
            new = _new_entries(clean, existing)
            rows.insert_artifacts(
                conn,
                [
                    {
                        "experiment_id": key.pk,
                        "path": e.path,
                        "digest": e.digest,
                        "size": e.size,
                        "media_type": e.media_type,
                        "created_at": audit.now,
                    }
                    for e in new
                ],
            )
            if new:
                audit.record(
                    "artifacts.log",
                    "experiment",
                    key.public_id,
                    after={e.path: [e.digest, e.size] for e in new},
                )
            return key.pk

        pk = self._ctx.write(run)
        wanted = {e.path for e in clean}
        listed = self._ctx.read(lambda conn: rows.list_artifacts(conn, pk))
        return [a for a in listed if a.path in wanted]

    # --- reading ----------------------------------------------------------------------------

    def list(self, experiment_id: str, prefix: str | None = None) -> list[Artifact]:
        """Artifacts at ``prefix`` or under the folder ``prefix`` (None: all), by path."""
        folder = normalize_prefix(prefix)

        def run(conn: Connection) -> list[Artifact]:
            key = readable_experiment(conn, self._ctx.actor, experiment_id)
            return rows.list_artifacts(conn, key.pk, folder)

        return self._ctx.read(run)

    def read_many(
        self, experiment_id: str, prefix: str | None = None
    ) -> Iterator[tuple[Artifact, Iterator[bytes]]]:
        """(artifact, verified chunks) for each artifact at or under ``prefix``.

        Authorization and listing happen at once; bytes are read lazily, one artifact after
        the other (consume each chunk iterator before advancing). ArtifactNotFound when
        nothing matches.
        """
        found = self.list(experiment_id, prefix)
        if not found:
            where = f" at or under {prefix!r}" if prefix else ""
            raise ArtifactNotFound(f"experiment {experiment_id} has no artifact{where}")
        blobs = self.blobs
        return ((a, _read(blobs, a)) for a in found)

    def read(self, experiment_id: str, path: str) -> tuple[Artifact, Iterator[bytes]]:
        """One artifact and its verified chunks."""
        normal = normalize_path(path)
        for artifact, chunks in self.read_many(experiment_id, normal):
            if artifact.path == normal:
                return artifact, chunks
        raise ArtifactNotFound(
            f"experiment {experiment_id} has no artifact {normal!r} (it is a folder)",
            hint="Download the folder, or list it with `mled artifacts list ID`.",
        )


def _read(blobs: BlobStore, a: Artifact) -> Iterator[bytes]:
    name = f"artifact {a.path!r} of experiment {a.experiment_id}"
    return blobs.read(a.digest, name=name, size=a.size)


def _new_entries(
    entries: list[ArtifactEntry], existing: dict[str, tuple[str, int]]
) -> list[ArtifactEntry]:
    """Entries not yet stored; conflicts with stored content or file/folder clashes refused."""
    new = [e for e in entries if e.path not in existing]
    for e in entries:
        old = existing.get(e.path)
        if old is not None and old[0] != e.digest:
            raise ArtifactConflict(
                f"artifact {e.path!r} already holds other content (sha256 {old[0][:12]}...)",
                details={"path": e.path},
            )
    files = set(existing) | {e.path for e in new}
    folders = {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)}
    for path in sorted(files & folders):
        raise ArtifactConflict(
            f"artifact path {path!r} would be both a file and a folder",
            hint="Artifacts are immutable once logged; log the new content under another path.",
            details={"path": path},
        )
    return new
