"""Search: a query (see ``docs/query-language.md``) run over the experiments a user may read.

Each call is one read transaction: the compiled keyset-paginated ``SELECT`` of one page (see
:mod:`mled.query.compiler`), then the entities of that page, loaded with one query per table.
Only projects the caller may read are searched, as in ``ExperimentService.list``: admins see
every project, other users the projects they hold a role in.

Search results are loaded *light*: the capture records ``source``, ``command`` and
``environment`` are None (they are the bulk of an experiment row and no list shows them;
``ExperimentService.get`` returns them). Everything a query can filter on is there: params,
metric summaries, tags, times, status, owner, group, parent.

Example:
    >>> svc = SearchService(ctx)  # doctest: +SKIP
    >>> page = svc.search("metrics.acc > 0.9 order by metrics.acc desc", limit=10)  # doctest: +SKIP
    >>> [e.metrics["acc"] for e in page.items]  # doctest: +SKIP
    [0.97, 0.95, 0.91]
    >>> page.next_page_token is None  # doctest: +SKIP
    True
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import lru_cache, partial

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from mled.auth.permissions import Action
from mled.entities import Experiment, Page
from mled.errors import InvalidInput, MledError, ProjectNotFound
from mled.query.ast import Query
from mled.query.compiler import compile_search
from mled.service.authorization import authorize
from mled.service.context import ServiceContext
from mled.store.sql import experiments as rows
from mled.store.sql import projects as project_rows
from mled.store.sql import users as user_rows
from mled.store.sql.keys import (
    planner_sorts_filtered_pages,
    refresh_statistics,
    size_estimate,
    statistics_stale,
)
from mled.store.sql.store import SqlStore

log = logging.getLogger("mled.service.search")

_CHECKED: weakref.WeakSet[SqlStore] = weakref.WeakSet()
"""Stores whose planner statistics this process has checked (see ``statistics_stale``)."""

DEFAULT_PAGE_SIZE = 1_000
MAX_PAGE_SIZE = 10_000


def page_size(limit: int | None) -> int:
    """The page size for ``limit`` (None: the default), checked against the maximum.

    Example:
        >>> page_size(None), page_size(50)
        (1000, 50)
    """
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(
            f"limit must be a whole number between 1 and {MAX_PAGE_SIZE}, not {limit!r}",
            hint="Fetch more results with the next page token.",
        )
    return limit


def parse(query: str, order_by: Sequence[str] | None) -> Query:
    """Parse ``query`` and an MLflow-style ``order_by`` list into one ``Query``.

    ``order_by`` may be given instead of an ``order by`` clause in the query, not as well.
    Parsed queries are immutable, so the most recent ones are kept and reused.

    Example:
        >>> parse("params.opt = 'adam'", ["metrics.acc desc"]).order_by[0].descending
        True
    """
    if not isinstance(query, str):
        raise InvalidInput(f"a query is text, not {type(query).__name__}")
    items = (order_by,) if isinstance(order_by, str) else tuple(order_by or ())
    if len(query) > CACHED_QUERY_LENGTH:
        return _parse(query, items)
    return _parse_cached(query, items)


CACHED_QUERY_LENGTH = 10_000
"""Longer queries are parsed every time rather than kept in the cache."""


def _parse(query: str, order_by: tuple[str, ...]) -> Query:
    from mled.query.parser import parse_order_by, parse_query  # lark, imported on first use

    parsed = parse_query(query)
    if order_by:
        if parsed.order_by:
            raise InvalidInput(
                "the sort order is given twice: in the query's `order by` and in order_by",
                hint="Give it in one place.",
            )
        parsed = replace(parsed, order_by=parse_order_by(list(order_by)))
    return parsed


_parse_cached = lru_cache(maxsize=512)(_parse)


class SearchService:
    """Searches the experiments the acting user may read."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    def search(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> Page[Experiment]:
        """One page of the experiments matching ``query``, in the query's order.

        ``project`` restricts the search to one project (ProjectNotFound if it does not
        exist); ``limit`` is the page size (default 1,000, at most 10,000); ``page_token`` is
        the ``next_page_token`` of the previous page of the same query. A ``limit N`` inside
        the query caps the total over all pages. Raises QuerySyntaxError for a bad query and
        InvalidInput for a bad token or page size.
        """
        parsed = parse(query, order_by)
        size = page_size(limit)
        self._check_statistics()

        def run(conn: Connection) -> Page[Experiment]:
            only = self._scope(conn, project)
            search = compile_search(
                parsed,
                project_ids=only,
                page_token=page_token,
                limit=size,
                now=self._ctx.clock(),
            )
            stored = size_estimate(conn) if search.walk is not None else None
            found = search.fetch(
                partial(rows.fetch_plain, conn),
                experiments=stored,
                walk_newest=planner_sorts_filtered_pages(conn),
            )
            ids, token = search.paginate(found)
            return Page(rows.load_experiments(conn, ids, light=True), token)

        return self._ctx.read(run)

    def search_pages(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Page[Experiment]]:
        """Every page of the results, each fetched when the previous one has been consumed.

        Pages are keyset-paginated, so experiments created meanwhile never make a page repeat
        or skip one that was already there.
        """
        token: str | None = None
        while True:
            page = self.search(
                query, project=project, order_by=order_by, limit=limit, page_token=token
            )
            yield page
            token = page.next_page_token
            if token is None:
                return

    def search_all(
        self,
        query: str = "",
        *,
        project: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> Iterator[Experiment]:
        """Every matching experiment, streamed page by page (``limit`` is the page size)."""
        for page in self.search_pages(query, project=project, order_by=order_by, limit=limit):
            yield from page.items

    def _check_statistics(self) -> None:
        """Once per SQLite store and process: give the planner statistics if it lacks them.

        (PostgreSQL's autovacuum keeps them; ``import_many`` refreshes them after a load.)
        A store this process may not write to is searched as it is.
        """
        store = self._ctx.store
        if store in _CHECKED or store.dialect != "sqlite":
            return
        _CHECKED.add(store)
        try:
            if store.read(statistics_stale):
                refresh_statistics(store.engine)
        except (SQLAlchemyError, MledError) as err:
            log.warning("could not refresh the query planner's statistics: %s", err)

    def _scope(self, conn: Connection, project: str | None) -> list[int] | None:
        """The project keys to search (None: every project, for admins)."""
        actor = self._ctx.actor
        if project is not None:
            row = project_rows.get_project(conn, project)
            if row is None:
                raise ProjectNotFound(f"project {project!r} does not exist")
            authorize(conn, actor, Action.READ, row.pk, row.entity.name)
            return [row.pk]
        return None if actor.is_admin else user_rows.readable_project_ids(conn, actor.id)
