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
from itertools import chain
from json.encoder import encode_basestring as _json_string
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from mled.auth.permissions import Action
from mled.entities import AuditEvent, AuditProblem, AuditReport
from mled.service.authorization import authorize_anywhere
from mled.store.sql import audit as audit_rows
from mled.store.sql import metrics as metric_rows
from mled.store.sql.codec import chunk_digest
from mled.store.sql.driver import pipelined

if TYPE_CHECKING:
    from mled.service.context import ServiceContext


def canonical_json(value: Any) -> str | None:
    """The one JSON encoding hashed and stored (sorted keys, no spaces, NaN as a string).

    Example:
        >>> canonical_json({"b": [1, (2.5, None)], "a": float("nan"), "c": {1: True}})
        '{"a":"NaN","b":[1,[2.5,null]],"c":{"1":true}}'
    """
    if value is None:
        return None
    if _plain_json(value):
        try:
            return _CANONICAL_PLAIN.encode(value)
        except (ValueError, RecursionError):
            pass  # NaN or ±inf (refused by allow_nan=False), an int too long for str(), ...
    return _CANONICAL.encode(_nan_safe(value))


# json.dumps builds a JSONEncoder per call; these are those encoders, made once (encode() keeps
# no state between calls). _CANONICAL is exactly the json.dumps call canonical_json always made.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# For values _plain_json accepted: there _nan_safe changes nothing the encoder can see (keys
# are already str, tuples are written as lists anyway) unless a float is NaN or infinite, which
# allow_nan=False turns into a ValueError. They hold no cycles (their depth is bounded), so the
# circular-reference bookkeeping is skipped too.
_CANONICAL_PLAIN = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)
_JSON_LEAVES = frozenset({str, int, float, bool, type(None)})
_STR_ONLY = frozenset({str})
_JSON_SEQUENCES = frozenset({list, tuple})
_PLAIN_DEPTH = 64
"""Deeper values take the general path, so it alone meets cycles and Python's recursion limit."""
_INFINITIES = (float("inf"), float("-inf"))


def _plain_json(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is made of exact dicts with exact ``str`` keys, exact lists and tuples,
    and exact str/int/float/bool/None, nested at most ``_PLAIN_DEPTH`` deep.

    Only then does ``json.dumps(value)`` write what ``json.dumps(_nan_safe(value))`` writes:
    a non-str key is written by json as ``true``/``null`` where _nan_safe writes ``str(k)``, and
    its keys sort as numbers, not strings; subclasses may change ``str()``, ``__iter__`` or
    ``items()``, which _nan_safe calls and json does not (or the other way round). Element
    types are checked by C loops (``frozenset.issuperset(map(type, ...))``), not element by
    element in Python.
    """
    kind = type(value)
    if kind is dict:
        if not _STR_ONLY.issuperset(map(type, value)):
            return False
        children: Any = value.values()
    elif kind is list or kind is tuple:
        children = value
    else:
        return kind in _JSON_LEAVES
    if _JSON_LEAVES.issuperset(map(type, children)):
        return True
    if depth >= _PLAIN_DEPTH:
        return False
    if _JSON_SEQUENCES.issuperset(map(type, children)) and _JSON_LEAVES.issuperset(
        map(type, chain.from_iterable(children))
    ):
        return True  # lists of scalars, like the audited params' [type, text] pairs
    depth += 1
    for child in children:
        child_kind = type(child)
        if child_kind is dict or child_kind is list or child_kind is tuple:
            if not _plain_json(child, depth):
                return False
        elif child_kind not in _JSON_LEAVES:
            return False
    return True


def _nan_safe(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value  # the common leaves, returned as the checks below would return them
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in _INFINITIES:
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {str(k): _nan_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_safe(v) for v in value]
    return value


# The json.dumps call event_hash always made, with its encoder made once.
_EVENT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


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
    time_text = repr(float(time))
    if (
        type(seq) is int
        and type(actor) is str
        and type(action) is str
        and type(object_type) is str
        and type(object_id) is str
        and type(prev_hash) is str
        and (before is None or type(before) is str)
        and (after is None or type(after) is str)
    ):
        # For these exact types the encoder writes int.__repr__, null, and each string through
        # encode_basestring; writing them here saves setting up an encoder for every event.
        q = _json_string
        payload = (
            f"[{seq!r},{q(time_text)},{q(actor)},{q(action)},{q(object_type)},{q(object_id)},"
            f"{'null' if before is None else q(before)},{'null' if after is None else q(after)},"
            f"{q(prev_hash)}]"
        )
    else:
        payload = _EVENT_JSON.encode(
            [seq, time_text, actor, action, object_type, object_id, before, after, prev_hash]
        )
    return hashlib.sha256(payload.encode()).hexdigest()


CHUNK_EVENTS = ("metrics.log", "experiment.import", "experiment.create")
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
    _rows: list[tuple[Any, ...]] = field(default_factory=list)

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
            (seq, self.now, self.actor, action, object_type, object_id, b, a, self.hash, h)
        )  # in the order of audit_rows.EVENT_COLUMNS
        self.seq, self.hash = seq, h
        return seq

    def close(self) -> None:
        """Write the buffered events and move the head; part of the caller's transaction."""
        if self._rows:
            with pipelined(self.conn):
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
