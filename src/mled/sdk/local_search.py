"""Search and compare operations of ``LocalBackend`` (the service, in-process)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mled.entities import Comparison, Experiment, Page
from mled.service import Services


class LocalSearch:
    """Mixin: expects ``self._s`` to be the Services of the acting user."""

    _s: Services

    def search(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        return self._s.search.search(
            query, project=project, order_by=order_by, limit=limit, page_token=page_token
        )

    def compare(
        self,
        ids: Sequence[str],
        *,
        directions: Mapping[str, str] | None = None,
        histories: bool = True,
        max_points: int | None = None,
    ) -> Comparison:
        return self._s.compare.compare(
            ids, directions=directions, histories=histories, max_points=max_points
        )
