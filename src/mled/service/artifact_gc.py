"""Garbage collection of the artifact store (``mled artifacts gc``): admins only.

Two kinds of garbage, treated differently:

- **Temporary uploads** (``tmp/``) are what a killed writer leaves: a partial file locally, an
  unfinished multipart upload on S3. Nothing ever reads them. Those not written to for the
  grace period (24 hours by default, at least one hour) are removed; younger ones are kept,
  since they may still be being written.
- **Unreferenced objects** are complete, verified objects that no artifact and no dataset
  version names: a process killed between storing the bytes and recording them, or a
  rejected registration. They are only *reported* unless ``remove_unreferenced`` is set, and
  even then only once older than the grace period too: the SDK stores bytes first and
  records them a moment later, so a young unreferenced object is normally about to be
  referenced.

Every run but a dry run is one audit event ``artifacts.gc`` (what it removed, what it kept).

Example:
    >>> report = services.artifact_gc.collect(older_than=timedelta(hours=24))  # doctest: +SKIP
    >>> [u.key for u in report.uploads if u.action == "removed"]  # doctest: +SKIP
    ['tmp/0b3c9e1f....part']
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Connection

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import GcReport, StoredItem, parse_manifest
from mled.errors import InvalidInput
from mled.service.artifacts import require_blobs
from mled.service.audit import AuditWriter
from mled.service.context import ServiceContext
from mled.store.sql import artifacts as artifact_rows
from mled.store.sql import datasets as dataset_rows

DEFAULT_GRACE = timedelta(hours=24)
"""How long a temporary upload must have been left alone before it is removed."""
MIN_GRACE = timedelta(hours=1)
"""The shortest grace period accepted: an upload that has not written for an hour is dead
(a writer sends a part every few seconds), so nothing alive is ever removed."""
MAX_GRACE = timedelta(days=3650)


def check_grace(older_than: timedelta) -> timedelta:
    """``older_than`` when it is an accepted grace period, else InvalidInput.

    Example:
        >>> check_grace(timedelta(minutes=5))
        Traceback (most recent call last):
        ...
        mled.errors.InvalidInput: the grace period 0:05:00 is shorter than 1:00:00 ...
    """
    if not MIN_GRACE <= older_than <= MAX_GRACE:
        what = "shorter than" if older_than < MIN_GRACE else "longer than"
        limit = MIN_GRACE if older_than < MIN_GRACE else MAX_GRACE
        raise InvalidInput(
            f"the grace period {older_than} is {what} {limit}",
            hint="Give a grace period of at least one hour (e.g. --older-than 24h), so that "
            "no upload still being written is removed.",
        )
    return older_than


def referenced_digests(conn: Connection) -> set[str]:
    """Every digest an artifact or any dataset version's manifest names (stored or not:
    an object one of them names is never garbage)."""
    found = artifact_rows.referenced_digests(conn)
    for text in dataset_rows.iter_manifests(conn):
        found.update(entry.sha256 for entry in parse_manifest(text).values())
    return found


class ArtifactGcService:
    """Removes dead temporary uploads and (on request) unreferenced objects; admins only."""

    def __init__(self, ctx: ServiceContext, blobs: BlobStore | None) -> None:
        self._ctx = ctx
        self._blobs = blobs

    def collect(
        self,
        *,
        older_than: timedelta = DEFAULT_GRACE,
        dry_run: bool = False,
        remove_unreferenced: bool = False,
    ) -> GcReport:
        """Collect the garbage of the artifact store; see the module documentation.

        ``dry_run`` removes nothing and reports what would be removed (``would_remove``).
        Raises PermissionDenied (audited) unless the actor is an admin, InvalidInput for a
        grace period under one hour.

        Example:
            >>> services.artifact_gc.collect(dry_run=True).bytes_freed  # doctest: +SKIP
            1048576
        """
        self._ctx.require_admin("collecting garbage in the artifact store")
        blobs = require_blobs(self._blobs)
        check_grace(older_than)
        now = self._ctx.clock()
        cutoff = now - older_than.total_seconds()

        stale = blobs.remove_stale_uploads(older_than, now=now, dry_run=dry_run)
        handled = {u.key for u in stale}
        # What is still there and was not just handled is young: kept, maybe being written.
        kept = [u for u in blobs.temporary_uploads() if u.key not in handled]

        # The objects first, then the references: an object stored and recorded after the
        # snapshot of references is young, and kept by the grace period.
        objects = blobs.objects()
        referenced = self._ctx.read(referenced_digests)
        unreferenced = [
            self._unreferenced(blobs, o, cutoff, dry_run, remove_unreferenced)
            for o in objects
            if BlobStore.digest_of(o) not in referenced
        ]

        freed = [i for i in (*stale, *unreferenced) if i.action != "kept"]
        report = GcReport(
            store=blobs.uri,
            older_than=older_than.total_seconds(),
            dry_run=dry_run,
            uploads=sorted([*stale, *kept], key=lambda u: u.key),
            unreferenced=unreferenced,
            objects=len(objects),
            bytes_freed=sum(i.size for i in freed),
        )
        if not dry_run:
            self._audit(report, remove_unreferenced)
        return report

    @staticmethod
    def _unreferenced(
        blobs: BlobStore, item: StoredItem, cutoff: float, dry_run: bool, remove: bool
    ) -> StoredItem:
        if not remove or item.modified.timestamp() >= cutoff:
            return item
        if dry_run:
            return replace(item, action="would_remove")
        # Checked again at removal: an object uploaded anew since the scan is kept.
        removed = blobs.remove_object(BlobStore.digest_of(item), written_before=cutoff)
        return replace(item, action="removed" if removed else "kept")

    def _audit(self, report: GcReport, remove_unreferenced: bool) -> None:
        uploads = [u for u in report.uploads if u.action == "removed"]
        objects = [o for o in report.unreferenced if o.action == "removed"]
        after = {
            "older_than": report.older_than,
            "remove_unreferenced": remove_unreferenced,
            "uploads_removed": len(uploads),
            "upload_bytes_removed": sum(u.size for u in uploads),
            "objects_removed": {BlobStore.digest_of(o): o.size for o in objects},
            "unreferenced_kept": len(report.unreferenced) - len(objects),
        }

        def run(_conn: Connection, audit: AuditWriter) -> None:
            audit.record("artifacts.gc", "artifact_store", report.store, after=after)

        self._ctx.write(run)
