"""The hash-chained audit log: writing events inside a change's transaction, and verifying.

Each event's hash is SHA-256 over a canonical JSON array of its fields and the previous
event's hash, so editing, deleting or reordering any stored event breaks the chain at that
point. Metric values are covered without one event per point: every flushed batch is one event
listing the digest of each chunk it wrote, and verification re-hashes the stored chunks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mled.auth.permissions import Action
from mled.entities import AuditEvent, AuditProblem, AuditReport
from mled.service.authorization import authorize_anywhere
from mled.store.sql import audit as audit_rows
from mled.store.sql import metrics as metric_rows
from mled.store.sql.codec import chunk_digest

if TYPE_CHECKING:
    from mled.service.context import ServiceContext


def canonical_json(value: Any) -> str | None:
    """The one JSON encoding hashed and stored (sorted keys, no spaces, NaN as a string)."""
    if value is None:
        return None
    return json.dumps(_nan_safe(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _nan_safe(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {str(k): _nan_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_safe(v) for v in value]
    return value


def event_hash(
    seq: int,
    time: float,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    before: str | None,
    after: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 of the canonical encoding of one event and the hash before it."""
    payload = json.dumps(
        [seq, repr(float(time)), actor, action, object_type, object_id, before, after, prev_hash],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


CHUNK_EVENTS = ("metrics.log", "experiment.import")
"""Actions whose event lists the digests of the metric chunks it wrote."""

OBJECT_ID_LENGTH = 64
"""Width of the stored ``object_id`` (IDs are UUIDs; user names may be longer)."""


def fit_object_id(object_id: str) -> str:
    """``object_id`` as stored: a longer one keeps its first 47 characters, ``~`` and 16 hex
    digits of its SHA-256, so it fits the column on every backend and stays distinct.

    Example:
        >>> len(fit_object_id("u" * 200)), fit_object_id("alice")
        (64, 'alice')
    """
    if len(object_id) <= OBJECT_ID_LENGTH:
        return object_id
    digest = hashlib.sha256(object_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{object_id[: OBJECT_ID_LENGTH - 17]}~{digest}"


@dataclass
class AuditWriter:
    """Appends events within one write transaction; the head is locked when created."""

    conn: Connection
    actor: str
    now: float
    seq: int = 0
    hash: str = ""
    _rows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, conn: Connection, actor: str, now: float) -> AuditWriter:
        seq, hash_ = audit_rows.lock_head(conn)
        return cls(conn=conn, actor=actor, now=now, seq=seq, hash=hash_)

    @property
    def next_seq(self) -> int:
        return self.seq + 1

    def record(
        self,
        action: str,
        object_type: str,
        object_id: str,
        *,
        before: Any = None,
        after: Any = None,
    ) -> int:
        """Append one event; returns its sequence number."""
        object_id = fit_object_id(object_id)
        seq = self.seq + 1
        b, a = canonical_json(before), canonical_json(after)
        h = event_hash(seq, self.now, self.actor, action, object_type, object_id, b, a, self.hash)
        self._rows.append(
            {
                "seq": seq,
                "time": self.now,
                "actor": self.actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                "before": b,
                "after": a,
                "prev_hash": self.hash,
                "hash": h,
            }
        )
        self.seq, self.hash = seq, h
        return seq

    def close(self) -> None:
        """Write the buffered events and move the head; part of the caller's transaction."""
        if self._rows:
            audit_rows.insert_events(self.conn, self._rows)
            audit_rows.set_head(self.conn, self.seq, self.hash)
            self._rows = []


class AuditService:
    """Reads and verifies the audit log, for admins and the auditors of any project.

    The audit log spans every project, so the ``audit`` permission is checked against all of
    the actor's memberships: an auditor of at least one project may read and verify it. A
    refused attempt is itself audited (``permission.denied``).

    Example:
        >>> report = AuditService(ctx).verify()  # doctest: +SKIP
        >>> report.ok  # doctest: +SKIP
        True
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def events(self, *, after_seq: int = 0, limit: int = 100) -> list[AuditEvent]:
        """Up to ``limit`` events with a sequence number above ``after_seq``, oldest first."""

        def run(conn: Connection) -> list[AuditEvent]:
            authorize_anywhere(conn, self._ctx.actor, Action.AUDIT)
            return [
                _event(r) for r in audit_rows.iter_events(conn, after_seq=after_seq, limit=limit)
            ]

        return self._ctx.read(run)

    def verify(self) -> AuditReport:
        """Recompute the chain and every metric chunk digest; name the first problems."""

        def run(conn: Connection) -> AuditReport:
            authorize_anywhere(conn, self._ctx.actor, Action.AUDIT)
            return _verify(conn)

        return self._ctx.read(run)


def _event(r: Any) -> AuditEvent:
    return AuditEvent(
        seq=int(r.seq),
        time=float(r.time),
        actor=r.actor,
        action=r.action,
        object_type=r.object_type,
        object_id=r.object_id,
        before=None if r.before is None else json.loads(r.before),
        after=None if r.after is None else json.loads(r.after),
        prev_hash=r.prev_hash,
        hash=r.hash,
    )


def _verify(conn: Connection) -> AuditReport:
    problems: list[AuditProblem] = []
    batch_digests: dict[int, dict[str, str]] = {}
    checked = _verify_chain(conn, problems, batch_digests)
    chunks = _verify_chunks(conn, problems, batch_digests)
    return AuditReport(
        ok=not problems, events_checked=checked, chunks_checked=chunks, problems=problems
    )


def _verify_chain(
    conn: Connection, problems: list[AuditProblem], batch_digests: dict[int, dict[str, str]]
) -> int:
    expected_seq, prev_hash, count = 1, audit_rows.GENESIS_HASH, 0
    chain_ok = True
    for r in audit_rows.iter_events(conn):
        count += 1
        seq = int(r.seq)
        if chain_ok:
            problem = _check_event(r, expected_seq, prev_hash)
            if problem is not None:
                problems.append(problem)
                chain_ok = False  # later events are unverifiable; report only the first
        if r.action in CHUNK_EVENTS and r.after:
            batch_digests[seq] = json.loads(r.after).get("chunks", {})
        expected_seq, prev_hash = seq + 1, r.hash
    head_seq, head_hash = audit_rows.read_head(conn)
    if chain_ok and (head_seq != expected_seq - 1 or head_hash != prev_hash):
        problems.append(
            AuditProblem(
                kind="truncated",
                seq=expected_seq - 1 if count else None,
                message=f"the log ends at event {expected_seq - 1} but the chain head records "
                f"event {head_seq}: the newest events were deleted",
            )
        )
    return count


def _check_event(r: Any, expected_seq: int, prev_hash: str) -> AuditProblem | None:
    seq = int(r.seq)
    if seq != expected_seq:
        return AuditProblem(
            kind="missing",
            seq=seq,
            message=f"event {expected_seq} is missing (the next stored event is {seq}); "
            "events were deleted",
        )
    if r.prev_hash != prev_hash:
        return AuditProblem(
            kind="reordered",
            seq=seq,
            message=f"event {seq} does not follow event {seq - 1}: the chain was reordered "
            "or an earlier event was replaced",
        )
    recomputed = event_hash(
        seq,
        float(r.time),
        r.actor,
        r.action,
        r.object_type,
        r.object_id,
        r.before,
        r.after,
        r.prev_hash,
    )
    if recomputed != r.hash:
        return AuditProblem(
            kind="altered",
            seq=seq,
            message=f"event {seq} ({r.action} {r.object_type} {r.object_id}) was altered "
            "after it was written",
        )
    return None


def _verify_chunks(
    conn: Connection, problems: list[AuditProblem], batch_digests: dict[int, dict[str, str]]
) -> int:
    count = 0
    seen: set[tuple[int, str]] = set()
    for r in metric_rows.iter_chunks_for_verify(conn):
        count += 1
        seen.add((int(r.audit_seq), r.key))
        recorded = batch_digests.get(int(r.audit_seq), {}).get(r.key)
        actual = chunk_digest(bytes(r.steps), bytes(r.timestamps), bytes(r._mapping["values"]))
        if recorded is None or actual != recorded or actual != r.digest:
            problems.append(
                AuditProblem(
                    kind="metric_tampered",
                    seq=int(r.audit_seq),
                    message=f"metric {r.key!r} of experiment {r.public_id} does not match the "
                    f"digest recorded in audit event {r.audit_seq}: its values were changed",
                    experiment_id=r.public_id,
                    metric=r.key,
                )
            )
    for seq, chunks in batch_digests.items():
        for key in chunks:
            if (seq, key) not in seen:
                problems.append(
                    AuditProblem(
                        kind="metric_missing",
                        seq=seq,
                        message=f"metric {key!r} values recorded by audit event {seq} are "
                        "missing from the store",
                        metric=key,
                    )
                )
    return count
