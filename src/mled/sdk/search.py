"""Searching and comparing from the SDK: ``search``, ``search_iter`` and ``compare``.

``search`` collects every page of a query (up to ``limit`` experiments) into a
:class:`SearchResults`, a list of ``Experiment`` with :meth:`SearchResults.to_pandas`;
``search_iter`` streams them one page at a time. Both speak only the ``Backend`` protocol, so
they work the same embedded and over HTTP. The query language is described in
``docs/query-language.md``.

Example:
    >>> results = client.search("metrics.acc > 0.9 order by metrics.acc desc")  # doctest: +SKIP
    >>> results.to_pandas()[["name", "params.lr", "metrics.acc"]]  # doctest: +SKIP
          name  params.lr  metrics.acc
    0   resnet      0.010         0.95
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mled.entities import Comparison, Experiment
from mled.errors import InvalidInput

if TYPE_CHECKING:
    from mled.sdk.backend import Backend

MAX_PAGE_SIZE = 10_000
"""The largest page a backend returns; ``search`` asks for pages this big."""

ATTRIBUTE_COLUMNS = (
    "id",
    "name",
    "project",
    "status",
    "owner",
    "group",
    "created",
    "started",
    "ended",
    "duration",
)
"""The leading columns of :meth:`SearchResults.to_pandas`, before params, metrics and tags."""


class SearchResults(list[Experiment]):
    """The experiments a search found, in order: a plain list, plus :meth:`to_pandas`."""

    def to_pandas(self) -> Any:
        """One row per experiment; params, metrics and tags flattened into columns.

        Columns: ``id``, ``name``, ``project``, ``status``, ``owner``, ``group``,
        ``created``, ``started``, ``ended`` (UTC datetimes), ``duration`` (seconds), then
        ``params.<key>``, ``metrics.<key>`` (last values) and ``tags.<key>``, each group
        sorted by key. A value an experiment lacks is missing (NaN/None). Needs pandas
        (``pip install 'mled[pandas]'``).

        Example:
            >>> mled.search("tags.team = 'nlp'").to_pandas().columns[:3].tolist()  # doctest: +SKIP
            ['id', 'name', 'project']
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "SearchResults.to_pandas() needs pandas, which is not installed; install it "
                "with `pip install pandas` (or `pip install 'mled[pandas]'`)"
            ) from None
        return pd.DataFrame(flat_rows(self), columns=flat_columns(self))


def flat_columns(experiments: Iterable[Experiment]) -> list[str]:
    """The columns of the flattened form: attributes, then params, metrics and tags by key.

    Example:
        >>> flat_columns([])[:3]
        ['id', 'name', 'project']
    """
    params: set[str] = set()
    metrics: set[str] = set()
    tags: set[str] = set()
    for e in experiments:
        params.update(e.params)
        metrics.update(e.metrics)
        tags.update(e.tags)
    return [
        *ATTRIBUTE_COLUMNS,
        *(f"params.{k}" for k in sorted(params)),
        *(f"metrics.{k}" for k in sorted(metrics)),
        *(f"tags.{k}" for k in sorted(tags)),
    ]


def flat_row(e: Experiment) -> dict[str, Any]:
    """One experiment as ``{column: value}`` (only the columns it has a value for)."""
    row: dict[str, Any] = {
        "id": e.id,
        "name": e.name,
        "project": e.project,
        "status": e.status,
        "owner": e.owner,
        "group": e.group,
        "created": e.created_at,
        "started": e.started_at,
        "ended": e.ended_at,
        "duration": e.duration,
    }
    row.update({f"params.{k}": v for k, v in e.params.items()})
    row.update({f"metrics.{k}": v for k, v in e.metrics.items()})
    row.update({f"tags.{k}": v for k, v in e.tags.items()})
    return row


def flat_rows(experiments: Iterable[Experiment]) -> list[dict[str, Any]]:
    return [flat_row(e) for e in experiments]


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidInput(f"limit must be a whole number >= 0 or None, not {limit!r}")


def iter_pages(
    backend: Backend,
    query: str,
    *,
    project: str | None,
    order_by: Sequence[str] | None,
    page_size: int | None,
    limit: int | None = None,
) -> Iterator[list[Experiment]]:
    """Each page of results from ``backend``, until the end or ``limit`` experiments."""
    _check_limit(limit)
    token: str | None = None
    seen = 0
    while limit is None or seen < limit:
        size = page_size
        if limit is not None:
            size = min(limit - seen, page_size or MAX_PAGE_SIZE)
        page = backend.search(
            query, project=project, order_by=order_by, limit=size, page_token=token
        )
        items = page.items if limit is None else page.items[: limit - seen]
        seen += len(items)
        yield items
        token = page.next_page_token
        if token is None:
            return


def search(
    backend: Backend,
    query: str = "",
    *,
    project: str | None = None,
    order_by: Sequence[str] | None = None,
    limit: int | None = None,
) -> SearchResults:
    """Every experiment matching ``query`` (at most ``limit``), fetched in large pages."""
    results = SearchResults()
    pages = iter_pages(
        backend, query, project=project, order_by=order_by, page_size=MAX_PAGE_SIZE, limit=limit
    )
    for items in pages:
        results.extend(items)
    return results


def search_iter(
    backend: Backend,
    query: str = "",
    *,
    project: str | None = None,
    order_by: Sequence[str] | None = None,
    page_size: int | None = None,
) -> Iterator[Experiment]:
    """Every experiment matching ``query``, one page (default 1,000) fetched at a time."""
    for items in iter_pages(
        backend, query, project=project, order_by=order_by, page_size=page_size
    ):
        yield from items


class ClientSearch:
    """``Client`` methods for search and compare; expects ``self.backend``."""

    @property
    def backend(self) -> Backend:
        raise NotImplementedError

    def search(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> SearchResults:
        """Experiments matching ``query`` in its order (all of them, or the first ``limit``).

        ``query`` is MLED's query language (a superset of MLflow's filter strings);
        ``order_by`` takes MLflow-style entries (``["metrics.acc DESC"]``) when the query
        has no ``order by``; ``project`` searches one project only. Search results leave
        ``source``, ``command`` and ``environment`` out (None); ``get_experiment`` has them.

        Example:
            >>> client.search("params.opt = 'adam'", limit=10)  # doctest: +SKIP
            [Experiment(id='0190c7e2-...', ...), ...]
        """
        return search(self.backend, query, project=project, order_by=order_by, limit=limit)

    def search_iter(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[Experiment]:
        """Stream every experiment matching ``query``, fetching ``page_size`` at a time.

        Pages are keyset-paginated: experiments created while iterating never make it
        repeat or skip one that was already there.

        Example:
            >>> sum(1 for _ in client.search_iter("status = 'failed'"))  # doctest: +SKIP
            12
        """
        return search_iter(
            self.backend, query, project=project, order_by=order_by, page_size=page_size
        )

    def compare(
        self,
        ids: Sequence[str],
        *,
        directions: Mapping[str, str] | None = None,
        histories: bool = True,
        max_points: int | None = None,
    ) -> Comparison:
        """Compare experiments (IDs or unique prefixes) side by side.

        Returns params with the differing keys marked, metric summaries (last/min/max) with
        the best experiment per metric (lower is better for keys containing ``loss``,
        ``error``, ``time`` ...; ``directions={"acc": "max"}`` overrides), and, with
        ``histories``, the histories of the metric keys they all have aligned on step
        (each LTTB-downsampled to ``max_points`` when given).

        Example:
            >>> cmp = client.compare([a.id, b.id])  # doctest: +SKIP
            >>> [p.key for p in cmp.differing_params]  # doctest: +SKIP
            ['lr']
        """
        return self.backend.compare(
            list(ids), directions=directions, histories=histories, max_points=max_points
        )
