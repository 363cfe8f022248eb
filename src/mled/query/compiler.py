"""Compile a parsed :class:`~mled.query.ast.Query` into one keyset-paginated SQL ``SELECT``.

The statement selects ``experiments.id`` (the integer key) followed by the sort columns, with
the filter (see :mod:`mled.query.conditions`), the project restriction, the keyset condition of
the page token, ``ORDER BY`` the sort keys with missing values last and ``experiments.id DESC``
as the final tiebreak, and ``LIMIT page_size + 1`` (the extra row tells whether a next page
exists). Sort values of params, metrics and tags come from ``LEFT OUTER JOIN``s on
``(experiment_id, key)``, which are unique, so rows never multiply.

Example:
    >>> from mled.query.parser import parse_query
    >>> search = compile_search(parse_query("metrics.acc > 0.9 order by metrics.acc desc"),
    ...                         project_ids=[1], limit=2, now=0.0)
    >>> ids, token = search.paginate([(7, 0.99), (3, 0.95), (5, 0.91)])
    >>> ids, token is not None
    ([7, 3], True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    func,
    or_,
    select,
    true,
)

from mled.errors import InvalidInput
from mled.query.ast import (
    And,
    Attribute,
    Comparison,
    Dataset,
    Expr,
    InList,
    IsNull,
    Like,
    Metric,
    OrderItem,
    Param,
    Query,
    Tag,
)
from mled.query.conditions import (
    ConditionCompiler,
    E,
    attribute_column,
    bound,
    dataset_column,
    dataset_inputs_select,
    keyed_table,
)
from mled.query.dialect import BinaryCollate
from mled.query.fields import TIME_OR_NUMBER_ATTRIBUTES
from mled.query.pagination import ColumnKind, PageToken, SortValue, fingerprint
from mled.query.walk import (
    BUDGET,
    FIRST_WINDOW,
    IndexWalk,
    Lane,
    Position,
    fetch_walked,
    lanes_of,
)
from mled.store.sql.tables import dataset_inputs, experiments, projects, users

MAX_PAGE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class SortColumn:
    """One SQL sort column (an ``order by`` key may need two: params sort by number, then text)."""

    expr: ColumnElement[Any]
    descending: bool
    kind: ColumnKind


@dataclass(frozen=True, slots=True)
class _Joined:
    target: FromClause
    onclause: ColumnElement[bool]


@cache
def _alias(table: Table, name: str) -> FromClause:
    """``table AS name``, built once: an alias is immutable, and building its columns is a
    good part of compiling a small query."""
    return table.alias(name)


def _joinable(expr: Expr) -> bool:
    """A top-level conjunct that holds exactly when one (experiment, key) row passes a test."""
    if isinstance(expr, IsNull):
        return expr.negated and isinstance(expr.field, Param | Metric | Tag)
    return isinstance(expr, Comparison | InList | Like) and isinstance(
        expr.field, Param | Metric | Tag
    )


def _filter_plan(
    where: Expr | None, conditions: ConditionCompiler
) -> tuple[list[_Joined], dict[tuple[str, str], FromClause], list[ColumnElement[bool]]]:
    """Split the filter into inner joins (fast on SQLite) and the remaining WHERE clauses.

    Each top-level conjunct on a param/metric/tag row becomes ``JOIN params AS f_i ON
    f_i.experiment_id = experiments.id AND f_i.key = :key AND <test>``; (experiment_id, key) is
    unique, so a join never multiplies rows, and the planner may start from the most selective
    index. Everything else (``or``, ``not``, ``is null``, attributes) stays in ``WHERE``.
    """
    conjuncts = list(where.items) if isinstance(where, And) else [] if where is None else [where]
    joins: list[_Joined] = []
    by_key: dict[tuple[str, str], FromClause] = {}
    rest: list[ColumnElement[bool]] = []
    for i, expr in enumerate(conjuncts):
        if not _joinable(expr):
            rest.append(conditions.compile(expr))
            continue
        assert isinstance(expr, Comparison | InList | Like | IsNull)
        field = expr.field
        assert isinstance(field, Param | Metric | Tag)
        table = keyed_table(field)
        alias = _alias(table, f"f_{i}")
        on = and_(alias.c.experiment_id == E.id, alias.c.key == bound(field.key))
        if not isinstance(expr, IsNull):
            on = and_(on, conditions.row_test(alias, expr))
        joins.append(_Joined(alias, on))
        by_key.setdefault((table.name, field.key), alias)
    return joins, by_key, rest


def _sort_columns(
    items: Sequence[OrderItem], joined: dict[tuple[str, str], FromClause]
) -> tuple[list[SortColumn], list[_Joined]]:
    columns: list[SortColumn] = []
    joins: list[_Joined] = []
    for i, item in enumerate(items):
        field, desc = item.field, item.descending
        if isinstance(field, Param | Metric | Tag):
            table = keyed_table(field)
            alias = joined.get((table.name, field.key))
            if alias is None:  # not filtered on: LEFT JOIN, missing keys sort last
                alias = _alias(table, f"sort_{i}")
                on = and_(alias.c.experiment_id == E.id, alias.c.key == bound(field.key))
                joins.append(_Joined(alias, on))
                joined[(table.name, field.key)] = alias
            if isinstance(field, Param):
                columns.append(SortColumn(alias.c.value_num, desc, "num"))
                columns.append(SortColumn(BinaryCollate(alias.c.value_text), desc, "text"))
            elif isinstance(field, Metric):
                columns.append(SortColumn(alias.c[field.agg], desc, "num"))
            else:
                columns.append(SortColumn(BinaryCollate(alias.c.value), desc, "text"))
        elif isinstance(field, Dataset):
            columns.append(_dataset_sort(field, desc))
        else:
            columns.append(_attribute_sort(field, desc))
    return columns, joins


def _dataset_sort(field: Dataset, desc: bool) -> SortColumn:
    """An experiment may use several datasets: it sorts by the smallest value among them."""
    col = dataset_column(field)
    if field.attr == "version":
        sub = dataset_inputs_select(func.min(col)).where(dataset_inputs.c.experiment_id == E.id)
        return SortColumn(sub.scalar_subquery(), desc, "num")
    sub = dataset_inputs_select(func.min(BinaryCollate(col)))
    sub = sub.where(dataset_inputs.c.experiment_id == E.id)
    return SortColumn(BinaryCollate(sub.scalar_subquery()), desc, "text")


def _attribute_sort(field: Attribute, desc: bool) -> SortColumn:
    if field.name == "project":
        sub = select(projects.c.name).where(projects.c.id == E.project_id).scalar_subquery()
        return SortColumn(BinaryCollate(sub), desc, "text")
    if field.name == "owner":
        sub = select(users.c.username).where(users.c.id == E.owner_id).scalar_subquery()
        return SortColumn(BinaryCollate(sub), desc, "text")
    col = attribute_column(field.name)
    if field.name in TIME_OR_NUMBER_ATTRIBUTES:
        return SortColumn(col, desc, "num")
    return SortColumn(BinaryCollate(col), desc, "text")


def _after(
    columns: Sequence[SortColumn], values: Sequence[SortValue], last_key: int
) -> ColumnElement[bool]:
    """Rows strictly after the row with sort ``values`` and key ``last_key`` in (sort keys,
    missing last, id desc) order."""
    ties: list[ColumnElement[bool]] = []
    branches: list[ColumnElement[bool]] = []
    for col, value in zip(columns, values, strict=True):
        if value is None:
            ties.append(col.expr.is_(None))  # only other missing values can follow
            continue
        value_bound = bound(value)
        beyond = col.expr < value_bound if col.descending else col.expr > value_bound
        branches.append(and_(*ties, or_(beyond, col.expr.is_(None))))
        ties.append(col.expr == value_bound)
    branches.append(and_(*ties, E.id < bound(last_key)))
    return or_(*branches)


def _plain(value: Any, kind: ColumnKind) -> SortValue:
    if value is None:
        return None
    if kind == "text":
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    return value if isinstance(value, int | float) else float(value)


@dataclass(frozen=True, slots=True)
class CompiledSearch:
    """A compiled page request: run :attr:`statement`, then hand the rows to :meth:`paginate`.

    Each result row is ``(experiments.id, *sort values)``.
    """

    statement: Select[Any]
    page_size: int
    columns: tuple[SortColumn, ...]
    fingerprint: str
    seen: int
    now: float
    total_limit: int | None
    walk: IndexWalk | None = None

    def fetch(
        self,
        run: Callable[[Select[Any]], Sequence[Sequence[Any]]],
        *,
        experiments: int | None = None,
        first_window: int = FIRST_WINDOW,
        budget: int = BUDGET,
        walk_newest: bool = True,
    ) -> list[Any]:
        """The rows of this page (and one more, if there is a next page), for :meth:`paginate`.

        ``run`` executes a statement and returns its rows. A page sorted by one metric, param
        or tag alone walks its indexes (see :mod:`mled.query.walk`, which ``first_window``
        and ``budget`` tune) if the store is large enough for that to pay (``experiments``:
        about how many it holds, None if unknown); so does a filtered page with no sort key,
        newest first, unless ``walk_newest`` is False; any other runs :attr:`statement`.

        Example:
            >>> from mled.query.parser import parse_query
            >>> search = compile_search(parse_query("status = 'failed'"), limit=2, now=0.0)
            >>> search.fetch(lambda stmt: [(9,), (8,)], experiments=1_000)  # a small store
            [(9,), (8,)]
        """
        want = self.page_size + 1
        if (
            self.walk is None
            or self.page_size == 0
            or not self.walk.worth_it(experiments, want, walk_newest=walk_newest)
        ):
            return list(run(self.statement))
        return fetch_walked(
            self.walk,
            run,
            want=want,
            first_window=first_window,
            budget=budget,
            experiments=experiments,
        )

    def next_page_token(self, row: Sequence[Any]) -> str:
        """Token of the page that starts after ``row`` (the last row of the current page).

        Example:
            >>> from mled.query.parser import parse_query
            >>> search = compile_search(parse_query("order by name"), limit=1, now=0.0)
            >>> isinstance(search.next_page_token((42, "resnet")), str)
            True
        """
        values = tuple(_plain(v, c.kind) for v, c in zip(row[1:], self.columns, strict=True))
        seen = self.seen + self.page_size
        return PageToken(self.fingerprint, values, int(row[0]), seen, self.now).encode()

    def paginate(self, rows: Sequence[Sequence[Any]]) -> tuple[list[int], str | None]:
        """Integer keys of this page, in order, and the next page token (None at the end).

        Example:
            >>> from mled.query.parser import parse_query
            >>> search = compile_search(parse_query(""), limit=2, now=0.0)
            >>> search.paginate([(9,), (8,)])
            ([9, 8], None)
        """
        page = list(rows[: self.page_size])
        ids = [int(r[0]) for r in page]
        more = len(rows) > self.page_size
        if self.total_limit is not None and self.seen + len(page) >= self.total_limit:
            more = False
        return ids, (self.next_page_token(page[-1]) if more and page else None)


def compile_search(
    query: Query,
    *,
    project_ids: Sequence[int] | None = None,
    page_token: str | None = None,
    limit: int = 100,
    now: float | None = None,
) -> CompiledSearch:
    """Compile ``query`` into the SQL of one page of results.

    ``project_ids`` restricts the search to those projects (None: no restriction, e.g. for an
    admin); ``limit`` is the page size (the query's own ``limit N`` caps the total over all
    pages); ``now`` is the instant ``now`` stands for (default: the current time, or the one
    recorded in ``page_token``). Raises :class:`~mled.errors.InvalidInput` for a bad page token
    or page size.

    Example:
        >>> from sqlalchemy.dialects import sqlite
        >>> from mled.query.parser import parse_query
        >>> search = compile_search(parse_query("params.opt = 'adam'"), limit=10)
        >>> sql = str(search.statement.compile(dialect=sqlite.dialect()))
        >>> "'adam'" in sql, "f_0.value_prefix = ?" in sql
        (False, True)
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page size must be between 1 and {MAX_PAGE_SIZE}, not {limit!r}")
    scope = None if project_ids is None else tuple(project_ids)
    text = repr(query)
    if not page_token and "RelativeTime(" not in text:
        # The first page of a query without `now` is the same statement at any time: reuse it
        # (building it is a tenth of a small search). The repr tells 1 from 1.0 and True,
        # which compare equal; a string that merely mentions RelativeTime( is not cached.
        first = _first_page(text, query, scope, limit)
        return replace(first, now=time.time() if now is None else float(now))
    return _compile(query, scope, page_token, limit, now)


@lru_cache(maxsize=256)
def _first_page(
    text: str, query: Query, project_ids: tuple[int, ...] | None, limit: int
) -> CompiledSearch:
    """:func:`_compile` of a first page whose statement does not depend on the time;
    ``text`` is ``repr(query)``."""
    return _compile(query, project_ids, None, limit, 0.0)


def _compile(
    query: Query,
    project_ids: tuple[int, ...] | None,
    page_token: str | None,
    limit: int,
    now: float | None,
) -> CompiledSearch:
    fp = fingerprint(query)
    columns, _ = _sort_columns(query.order_by, {})  # validates the sort keys first
    token = None
    if page_token:
        token = PageToken.decode(page_token, fingerprint=fp, kinds=[c.kind for c in columns])
    when = token.now if token else (time.time() if now is None else float(now))
    seen = token.seen if token else 0

    page_size = limit
    if query.limit is not None:
        page_size = max(0, min(limit, query.limit - seen))

    inner, joined, where = _filter_plan(query.where, ConditionCompiler(when))
    columns, outer = _sort_columns(query.order_by, joined)
    source: FromClause = experiments
    for j in inner:
        source = source.join(j.target, j.onclause)
    for j in outer:
        source = source.outerjoin(j.target, j.onclause)
    labels = [c.expr.label(f"sort_{i}") for i, c in enumerate(columns)]
    scope = [] if project_ids is None else [E.project_id.in_(list(project_ids))]
    base = select(E.id, *labels).select_from(source).where(*where, *scope)
    if token is not None:
        base = base.where(_after(columns, token.values, token.last_key))
    order = [(c.expr.desc() if c.descending else c.expr.asc()).nulls_last() for c in columns]

    def rest(after: Position | None, limit: int) -> Select[Any]:
        stmt = base if after is None else base.where(_after(columns, after[0], after[1]))
        return stmt.order_by(*order, E.id.desc()).limit(limit)

    walk = None
    lanes = _lanes(query)
    start: Position | None = None if token is None else (token.values, token.last_key)
    if lanes and (start is None or any(lane.holds(start) for lane in lanes)):
        # The filter's row tests become LEFT JOINs of each walked row (a key lookup each).
        found = [j.target.c.experiment_id.is_not(None) for j in inner]
        conditions = [*found, *where, *scope]
        hit = and_(*conditions) if conditions else true()
        tests = tuple((j.target, j.onclause) for j in inner)
        walk = IndexWalk(lanes, hit, start, rest, tests, filtered=bool(inner or where))
    return CompiledSearch(
        statement=rest(None, page_size + 1 if page_size else 0),
        page_size=page_size,
        columns=tuple(columns),
        fingerprint=fp,
        seen=seen,
        now=when,
        total_limit=query.limit,
        walk=walk,
    )


def _lanes(query: Query) -> tuple[Lane, ...]:
    """The indexes a page may walk (see :mod:`mled.query.walk`): those of the one sort key, if
    it is a metric's last value, a param or a tag (more keys would break its ties); with no
    sort key and a filter, the experiments themselves, newest first (unfiltered, that is
    already the plan)."""
    if not query.order_by and query.where is not None:
        return (Lane("newest", "", descending=True),)
    if len(query.order_by) != 1:
        return ()
    item = query.order_by[0]
    field = item.field
    if isinstance(field, Metric) and field.agg == "last":
        return lanes_of("metric", field.key, item.descending)
    if isinstance(field, Param):
        return lanes_of("param", field.key, item.descending)
    if isinstance(field, Tag):
        return lanes_of("tag", field.key, item.descending)
    return ()
