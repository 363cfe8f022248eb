"""The audit log: verification and the events themselves (admins and auditors).

Example:
    $ curl $URL/api/v1/audit/verify -H "Authorization: Bearer $TOKEN"
    {"ok":true,"events_checked":42,"chunks_checked":17,"problems":[]}
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from mled.auth.permissions import Action
from mled.entities import AuditEvent, AuditProblem, AuditReport
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import problems

router = APIRouter(tags=["audit"])


class AuditProblemOut(BaseModel):
    kind: str = Field(description="missing, reordered, altered, truncated, metric_tampered...")
    seq: int | None
    message: str
    experiment_id: str | None
    metric: str | None

    @classmethod
    def of(cls, p: AuditProblem) -> AuditProblemOut:
        return cls(
            kind=p.kind,
            seq=p.seq,
            message=p.message,
            experiment_id=p.experiment_id,
            metric=p.metric,
        )


class AuditReportOut(BaseModel):
    ok: bool
    events_checked: int
    chunks_checked: int
    problems: list[AuditProblemOut]

    @classmethod
    def of(cls, r: AuditReport) -> AuditReportOut:
        return cls(
            ok=r.ok,
            events_checked=r.events_checked,
            chunks_checked=r.chunks_checked,
            problems=[AuditProblemOut.of(p) for p in r.problems],
        )


class AuditEventOut(BaseModel):
    """One link of the hash chain; ``before``/``after`` are the JSON the hash covers."""

    seq: int
    time: float = Field(description="Epoch seconds.")
    actor: str
    action: str
    object_type: str
    object_id: str
    before: Any
    after: Any
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls(
            seq=e.seq,
            time=e.time,
            actor=e.actor,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            before=e.before,
            after=e.after,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )


@router.get(
    "/audit/verify",
    openapi_extra=permission(Action.AUDIT),
    responses=problems(401, 403, 503),
)
def verify_audit(s: ServicesDep) -> AuditReportOut:
    """Recompute the hash chain and every metric chunk digest; name the first problems."""
    return AuditReportOut.of(s.audit.verify())


@router.get(
    "/audit/events",
    openapi_extra=permission(Action.AUDIT),
    responses=problems(401, 403, 422, 503),
)
def audit_events(
    s: ServicesDep,
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEventOut]:
    """Events with a sequence number above ``after_seq``, oldest first (page with it)."""
    return [AuditEventOut.of(e) for e in s.audit.events(after_seq=after_seq, limit=limit)]
