"""Search and compare experiments: the query language over REST.

``POST /experiments/search`` runs a query (``docs/query-language.md``) over the projects the
caller may read and answers one page plus the token of the next; ``POST /experiments/compare``
puts experiments side by side. Both only read, so they need the ``read`` permission; a query
that does not parse is a 400 ``query_syntax_error`` whose ``details`` give the line and column.

Example:
    $ curl -X POST $URL/api/v1/experiments/search -H "Authorization: Bearer $TOKEN" \\
        -H 'Content-Type: application/json' \\
        -d '{"query": "metrics.acc > 0.9 order by metrics.acc desc", "limit": 10}'
    {"experiments": [...], "next_page_token": null}
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from mled.auth.permissions import Action
from mled.entities import AlignedHistory, Comparison, MetricComparison, ParamDiff
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import (
    NO_NUL,
    Body,
    ExperimentOut,
    IdPrefix,
    Key,
    MetricSummaryOut,
    Name,
    WireFloat,
    json_safe,
    keyed,
    problems,
    wire_float,
)

router = APIRouter(tags=["search"])

ERRORS = problems(400, 401, 403, 404, 409, 422, 503)

QueryText = Annotated[str, StringConstraints(max_length=100_000, pattern=NO_NUL)]
OrderItem = Annotated[str, StringConstraints(min_length=1, max_length=1_000, pattern=NO_NUL)]
Direction = Literal["min", "max", "lower", "higher", "minimize", "maximize"]


class SearchIn(Body):
    """A search request: the query, an optional project, sort order, page size and token."""

    query: QueryText = Field(default="", description="MLED query language; empty: everything.")
    project: Name | None = Field(default=None, description="Search only this project.")
    order_by: list[OrderItem] | None = Field(
        default=None,
        max_length=8,
        description='MLflow-style sort keys (["metrics.acc DESC"]) when the query has none.',
    )
    limit: int | None = Field(
        default=None, ge=1, le=10_000, description="Page size (default 1,000, at most 10,000)."
    )
    page_token: str | None = Field(
        default=None,
        max_length=64_000,
        description="The next_page_token of the previous page of the same query.",
    )


class SearchOut(BaseModel):
    """One page of results in the query's order; ``next_page_token`` is null at the end.

    Search results leave out the capture records: ``source``, ``command`` and
    ``environment`` are null (``GET /experiments/{id}`` has them).
    """

    experiments: list[ExperimentOut]
    next_page_token: str | None


class CompareIn(Body):
    """Experiments to compare (full IDs or unique prefixes), in the order to show them."""

    ids: list[IdPrefix] = Field(min_length=1, max_length=100)
    directions: dict[Key, Direction] | None = keyed(
        default=None, description='Which way is better per metric key: {"acc": "max"}.'
    )
    histories: bool = Field(
        default=True, description="Include the histories of common metric keys, by step."
    )
    max_points: int | None = Field(
        default=None, ge=2, le=1_000_000, description="LTTB-downsample each history to this."
    )


class ParamDiffOut(BaseModel):
    key: str
    values: dict[str, Any] = Field(description="Experiment ID -> value (absent: no such param).")
    differs: bool

    @classmethod
    def of(cls, p: ParamDiff) -> ParamDiffOut:
        return cls(key=p.key, values=json_safe(p.values), differs=p.differs)


class MetricComparisonOut(BaseModel):
    key: str
    direction: Literal["min", "max"]
    summaries: dict[str, MetricSummaryOut] = Field(description="Experiment ID -> summary.")
    best: str | None = Field(description="ID of the experiment with the best last value.")
    best_value: WireFloat | None

    @classmethod
    def of(cls, m: MetricComparison) -> MetricComparisonOut:
        return cls(
            key=m.key,
            direction=m.direction,  # type: ignore[arg-type]
            summaries={k: MetricSummaryOut.of(s) for k, s in m.summaries.items()},
            best=m.best,
            best_value=None if m.best_value is None else wire_float(m.best_value),
        )


class AlignedHistoryOut(BaseModel):
    key: str
    steps: list[int]
    values: dict[str, list[WireFloat | None]] = Field(
        description="Experiment ID -> value at each step (null: nothing logged there)."
    )

    @classmethod
    def of(cls, h: AlignedHistory) -> AlignedHistoryOut:
        values = {
            eid: [None if v is None else wire_float(v) for v in vs] for eid, vs in h.values.items()
        }
        return cls(key=h.key, steps=h.steps, values=values)


class ComparisonOut(BaseModel):
    """Params side by side (differences marked), metric summaries with the best, histories."""

    experiments: list[ExperimentOut]
    params: list[ParamDiffOut]
    metrics: list[MetricComparisonOut]
    histories: dict[str, AlignedHistoryOut]

    @classmethod
    def of(cls, c: Comparison) -> ComparisonOut:
        return cls(
            experiments=[ExperimentOut.of(e) for e in c.experiments],
            params=[ParamDiffOut.of(p) for p in c.params],
            metrics=[MetricComparisonOut.of(m) for m in c.metrics],
            histories={k: AlignedHistoryOut.of(h) for k, h in c.histories.items()},
        )


@router.post(
    "/experiments/search",
    openapi_extra=permission(Action.READ),
    responses=ERRORS,
)
def search_experiments(body: SearchIn, s: ServicesDep) -> SearchOut:
    """One page of the experiments matching a query, from the projects the caller may read."""
    page = s.search.search(
        body.query,
        project=body.project,
        order_by=body.order_by,
        limit=body.limit,
        page_token=body.page_token,
    )
    return SearchOut(
        experiments=[ExperimentOut.of(e) for e in page.items],
        next_page_token=page.next_page_token,
    )


@router.post(
    "/experiments/compare",
    openapi_extra=permission(Action.READ),
    responses=ERRORS,
)
def compare_experiments(body: CompareIn, s: ServicesDep) -> ComparisonOut:
    """Experiments side by side: params, metric summaries with the best per metric and its
    direction (guessed from the key unless given), histories aligned on step."""
    comparison = s.compare.compare(
        body.ids,
        directions=body.directions,
        histories=body.histories,
        max_points=body.max_points,
    )
    return ComparisonOut.of(comparison)
