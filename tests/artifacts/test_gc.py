"""Garbage collection of the artifact store, on {SQLite, PostgreSQL} x {local folder, S3}.

Leftovers of killed uploads are made as a killed writer leaves them (a partial file under
``tmp/``, an S3 object not yet copied to its digest, an unfinished multipart upload) and made
old with ``backdate``; nothing of the blob store or of the server is mocked. The tests marked
``http_backend`` also run through a real server.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from assets_support import (
    AssetServer,
    backdate,
    leave_upload,
    object_keys,
    store_root,
    temp_keys,
    user_token,
    write_tree,
)

from mled.artifacts.blobstore import BlobStore
from mled.artifacts.entities import StoredItem
from mled.errors import InvalidInput, PermissionDenied
from mled.sdk.client import Client
from mled.service import Services
from mled.settings import Settings
from mled.store.sql.store import SqlStore

OLD = timedelta(days=2)
"""Older than the default grace period of 24 hours."""


def key_of(digest: str) -> str:
    return f"objects/{digest[:2]}/{digest[2:]}"


def actions(items: list[StoredItem]) -> dict[str, str]:
    return {item.key: item.action for item in items}


def absolute(blobs: BlobStore, key: str) -> str:
    return f"{store_root(blobs)}/{key}"


def leftovers(blobs: BlobStore, age: timedelta | None) -> list[str]:
    """Every kind of leftover this store can have, ``age`` old (None: just written)."""
    keys = [leave_upload(blobs, os.urandom(1000))]
    if not blobs.is_local:
        keys.append(leave_upload(blobs, os.urandom(100), multipart=True))
    if age is not None:
        for key in keys:
            backdate(blobs, key, age)
    return keys


def gc_events(store_uri: str) -> list[dict[str, object]]:
    store = SqlStore.open(store_uri)
    try:
        events = Services.for_user(store, "alice").audit.events(limit=1000)
    finally:
        store.close()
    return [e.after for e in events if e.action == "artifacts.gc"]


def test_the_blob_store_removes_only_uploads_older_than_the_grace_period(
    blobs: BlobStore,
) -> None:
    ref = blobs.put([b"a complete object"])
    backdate(blobs, key_of(ref.digest), OLD)
    stale = leftovers(blobs, OLD)
    fresh = leftovers(blobs, None)
    assert sorted(u.key for u in blobs.temporary_uploads()) == sorted(stale + fresh)
    kinds = {u.key: u.kind for u in blobs.temporary_uploads()}
    assert [kinds[k] for k in stale] == ["upload"] + ([] if blobs.is_local else ["multipart"])

    dry = blobs.remove_stale_uploads(timedelta(hours=24), dry_run=True)
    assert actions(dry) == dict.fromkeys(stale, "would_remove")
    assert len(temp_keys(blobs)) == len(stale + fresh)

    removed = blobs.remove_stale_uploads(timedelta(hours=24))
    assert actions(removed) == dict.fromkeys(stale, "removed")
    assert temp_keys(blobs) == sorted(absolute(blobs, k) for k in fresh)
    assert blobs.check(ref.digest) == (None, len(b"a complete object"))
    assert blobs.remove_stale_uploads(timedelta(hours=24)) == []

    # Once nothing writes to the store, a grace period of zero removes the rest.
    assert actions(blobs.remove_stale_uploads(timedelta(0))) == dict.fromkeys(fresh, "removed")
    assert temp_keys(blobs) == []
    assert [o.key for o in blobs.objects()] == [key_of(ref.digest)]
    with pytest.raises(InvalidInput, match="negative"):
        blobs.remove_stale_uploads(timedelta(seconds=-1))


def test_an_object_is_removed_only_when_not_written_since(blobs: BlobStore) -> None:
    ref = blobs.put([b"unreferenced"])
    hour_ago = time.time() - 3600
    assert not blobs.remove_object(ref.digest, written_before=hour_ago)
    assert blobs.exists(ref.digest)
    backdate(blobs, key_of(ref.digest), OLD)
    assert blobs.remove_object(ref.digest, written_before=hour_ago)
    assert not blobs.exists(ref.digest)
    assert not blobs.remove_object(ref.digest, written_before=hour_ago)  # already gone


@pytest.mark.http_backend
def test_gc_removes_dead_uploads_and_unreferenced_objects_only_when_asked(
    asset_client: Client, blobs: BlobStore, store_uri: str, tmp_path: Path
) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(100_000))
    data = write_tree(tmp_path / "data", {"a.csv": b"a\n1\n"})
    with asset_client.start_experiment(project="vision", name="gc", capture=False) as exp:
        artifact = exp.log_artifact(model)
        exp.log_dataset(data, "tabular", store=True)
    csv = hashlib.sha256(b"a\n1\n").hexdigest()
    orphan = blobs.put([b"stored, then the process died before recording it"])
    young_orphan = blobs.put([b"stored a moment ago, about to be recorded"])
    for digest in (artifact.digest, csv, orphan.digest):
        backdate(blobs, key_of(digest), OLD)  # old enough: only references protect two of them
    stale = leftovers(blobs, OLD)
    fresh = leftovers(blobs, None)
    stale_bytes = 1000 if blobs.is_local else 1100
    objects, temps = object_keys(blobs), temp_keys(blobs)

    dry = asset_client.collect_garbage(dry_run=True, remove_unreferenced=True)
    assert actions(dry.uploads) == {
        **dict.fromkeys(stale, "would_remove"),
        **dict.fromkeys(fresh, "kept"),
    }
    assert actions(dry.unreferenced) == {
        key_of(orphan.digest): "would_remove",
        key_of(young_orphan.digest): "kept",
    }
    assert (dry.dry_run, dry.objects, dry.older_than) == (True, 4, 86400.0)
    assert dry.bytes_freed == stale_bytes + orphan.size
    assert (object_keys(blobs), temp_keys(blobs)) == (objects, temps)
    assert gc_events(store_uri) == []  # a dry run changes nothing, so it is not audited

    report = asset_client.collect_garbage()
    assert actions(report.uploads) == {
        **dict.fromkeys(stale, "removed"),
        **dict.fromkeys(fresh, "kept"),
    }
    assert set(actions(report.unreferenced).values()) == {"kept"}  # reported, not removed
    assert report.bytes_freed == stale_bytes
    assert temp_keys(blobs) == sorted(absolute(blobs, k) for k in fresh)
    assert object_keys(blobs) == objects

    report = asset_client.collect_garbage(timedelta(hours=36), remove_unreferenced=True)
    assert actions(report.uploads) == dict.fromkeys(fresh, "kept")
    assert actions(report.unreferenced) == {
        key_of(orphan.digest): "removed",
        key_of(young_orphan.digest): "kept",
    }
    assert not blobs.exists(orphan.digest)
    assert blobs.exists(young_orphan.digest)
    assert asset_client.verify_artifacts().ok  # everything referenced is intact
    local = asset_client.download_artifacts(exp.id, "model.bin", tmp_path / "out")
    assert local.read_bytes() == model.read_bytes()

    first, second = gc_events(store_uri)
    assert (first["uploads_removed"], first["objects_removed"]) == (len(stale), {})
    assert second["objects_removed"] == {orphan.digest: orphan.size}
    assert second["unreferenced_kept"] == 1

    with pytest.raises(InvalidInput):  # a grace period too short to be safe
        asset_client.collect_garbage(timedelta(minutes=5))


@pytest.mark.http_backend
def test_gc_is_refused_to_everyone_but_admins(
    asset_client: Client,
    asset_settings: Settings,
    asset_server: AssetServer | None,
    blobs: BlobStore,
    store_uri: str,
) -> None:
    asset_client.list_projects()  # alice, the store's first user and so its admin, exists
    stale = leftovers(blobs, OLD)
    if asset_server is None:
        settings = replace(asset_settings, username="bob")
    else:
        settings = replace(
            asset_settings,
            tracking_uri=asset_server.url,
            token=user_token(store_uri, "bob"),
            http_retries=1,
            spool=False,
        )
    bob = Client(settings=settings)
    try:
        with pytest.raises(PermissionDenied, match="'bob' is not an admin") as refused:
            bob.collect_garbage(dry_run=True)
    finally:
        bob.close()
    assert refused.value.details["permission"] == "manage"
    assert temp_keys(blobs) == sorted(absolute(blobs, k) for k in stale)
    store = SqlStore.open(store_uri)
    try:
        events = Services.for_user(store, "alice").audit.events(limit=1000)
    finally:
        store.close()
    denied = [e for e in events if e.action == "permission.denied" and e.actor == "bob"]
    assert [e.after["permission"] for e in denied] == ["manage"]
