"""The first rows of a search sorted by one metric or one param, found by walking its index.

``metrics.acc > 0.9 and params.opt = 'adam' order by metrics.loss limit 100`` is the
leaderboard query, and ``order by params.lr`` the click on a column header. The planners of
SQLite and PostgreSQL start such a search from the most selective filter (or from every
experiment) and sort every match, because they cannot tell that walking the sort key's index
in sort order and testing each experiment would stop after a few hundred rows: at 100,000
experiments that is tens to hundreds of milliseconds against a few.

:func:`fetch_walked` therefore reads the index in windows (keyset-paginated ``SELECT``\\ s of
``window`` index rows, each row tested by the whole filter, flagged ``hit``), keeps the hits
in order and grows the next window from the hit rate seen so far. A sort key's rows may lie in
more than one index, one :class:`Lane` each, walked one after the other in sort order: a
metric's last values are one lane; a param's numbers (``value_num``, then its text for ties)
come before its other texts (``value_prefix``), as in the ordinary statement. When the
estimated rows still to read exceed ``budget`` (a very selective filter, where the planner's
own plan is the better one), when the lanes have no further rows (the rest sort last: no such
key, or a NaN metric), or when a text lane meets a value its 200-character prefix does not
hold whole (whose order only the full text decides), the ordinary statement finishes the page
from the last row walked. Either way the rows are exactly those of the ordinary statement, in
the same order.

Example:
    >>> from sqlalchemy import select, true
    >>> walk = IndexWalk((Lane("metric", "acc", descending=True),), hit=true(), start=None,
    ...                  rest=lambda after, limit: select(E.id).limit(limit))
    >>> index = [(7, 0.9, False, True), (3, 0.8, False, False), (5, 0.7, False, True)]
    >>> fetch_walked(walk, lambda stmt: index, want=2)
    [(7, 0.9), (5, 0.7)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    false,
    func,
    null,
    or_,
    select,
)

from mled.query.conditions import E, bound
from mled.query.dialect import BinaryCollate
from mled.query.pagination import SortValue
from mled.store.sql.tables import experiments, metrics, params
from mled.store.sql.tables.meta import PREFIX_LENGTH

Position = tuple[tuple[SortValue, ...], int]
"""(sort values, experiment key) of a row: where the next window starts."""

WALK_ABOVE = 25_000
"""A filtered search walks the index only in stores of more experiments than this: walking
costs about the same at any size (the ~1,000 index rows a 10% filter needs for 100 rows,
three key lookups each), while the planner's plan grows with the store; measured on SQLite,
the plan wins at 10,000 experiments (5 against 12 ms) and the walk at 100,000 (13 against
45 ms). A search with no filter, whose plan sorts every experiment, always walks."""
FIRST_WINDOW = 256
"""Index rows of the first window at least (twice the rows wanted, if that is more)."""
BUDGET = 20_000
"""Index rows read at most (or twenty times the rows wanted) before the planner's plan."""
WALK_ROW_COST = 1.25
"""Safety margin on the estimate of the rows still to read."""

_METRICS = metrics.alias("walk_m")
_PARAMS = params.alias("walk_p")

LaneKind = Literal["metric", "number", "text"]


@dataclass(frozen=True, slots=True)
class Lane:
    """The rows of one sort key held by one index, in sort order.

    ``metric``: a metric's last values (NaN and missing ones are in no lane). ``number``: a
    param's values that have a number, by number, then by text, as the ordinary statement sorts
    them. ``text``: a param's other values, by their indexed prefix; a row whose prefix may
    not be its whole text is flagged ``cut``, and the walk stops before it.

    Example:
        >>> Lane("number", "lr", descending=False).holds(((0.1, "0.1"), 7))
        True
    """

    kind: LaneKind
    key: str
    descending: bool

    def holds(self, position: Position) -> bool:
        """Whether a page token's ``position`` lies in this lane (the walk may start there)."""
        values = position[0]
        if self.kind == "metric":
            return values[0] is not None
        if self.kind == "number":
            return values[0] is not None
        text = values[1]
        return values[0] is None and isinstance(text, str) and len(text) < PREFIX_LENGTH

    def rows(self, after: Position | None, size: int) -> FromClause:
        """The next ``size`` rows of the lane after ``after``: ``eid``, the sort values
        (``v0``, ``v1``) and ``cut``."""
        if self.kind == "metric":
            m = _METRICS
            sort: list[ColumnElement[Any]] = [m.c.last]
            values = [m.c.last.label("v0")]
            where = [m.c.key == bound(self.key), m.c.last.is_not(None)]
            eid = m.c.experiment_id
            cut: ColumnElement[bool] = false()
        else:
            p = _PARAMS
            eid = p.c.experiment_id
            where = [p.c.key == bound(self.key)]
            if self.kind == "number":
                sort = [p.c.value_num, BinaryCollate(p.c.value_text)]
                values = [p.c.value_num.label("v0"), p.c.value_text.label("v1")]
                where.append(p.c.value_num.is_not(None))
                cut = false()
            else:
                sort = [BinaryCollate(p.c.value_prefix)]
                values = [null().label("v0"), p.c.value_prefix.label("v1")]
                where.append(p.c.value_num.is_(None))
                cut = func.length(p.c.value_prefix) >= PREFIX_LENGTH
        if after is not None:
            given = after[0][1:] if self.kind == "text" else after[0]
            known = [v for v in given if v is not None]
            assert len(known) == len(given), "a lane holds no missing value"
            where.extend(self._after(sort, known, eid, after[1]))
        order = [c.desc() if self.descending else c.asc() for c in sort]
        stmt = select(eid.label("eid"), *values, cut.label("cut")).where(*where)
        return stmt.order_by(*order, eid.desc()).limit(size).subquery("walk")

    def _after(
        self,
        sort: Sequence[ColumnElement[Any]],
        values: Sequence[str | float],
        eid: ColumnElement[Any],
        key: int,
    ) -> list[ColumnElement[bool]]:
        """Rows strictly after (``values``, ``key``): a range on the first sort column, which
        lets the planner seek the index (an OR alone would not), and the exact condition."""
        first = bound(values[0])
        reach = sort[0] <= first if self.descending else sort[0] >= first
        exact: ColumnElement[bool] = eid < bound(key)
        for col, value in reversed(list(zip(sort, values, strict=True))):
            v = bound(value)
            beyond = col < v if self.descending else col > v
            exact = or_(beyond, and_(col == v, exact))
        return [reach, exact]


def lanes_of(kind: Literal["metric", "param"], key: str, descending: bool) -> tuple[Lane, ...]:
    """The lanes of a sort by one metric's last value or one param, in sort order.

    Example:
        >>> [lane.kind for lane in lanes_of("param", "lr", descending=True)]
        ['number', 'text']
    """
    if kind == "metric":
        return (Lane("metric", key, descending),)
    return (Lane("number", key, descending), Lane("text", key, descending))


@dataclass(frozen=True, slots=True)
class IndexWalk:
    """A search sorted by one metric or param, and how to finish it without the index.

    ``lanes`` are the sort key's indexes in sort order; ``hit`` is the whole filter (project
    restriction included) as a boolean expression on ``experiments``; ``start`` the position
    of the page token, if any; ``rest(after, limit)`` the ordinary statement limited to rows
    after ``after`` (None: from the start); ``tests`` the filter's row tests, joined to each
    walked row; ``filtered`` whether there is a filter beyond the project restriction.
    """

    lanes: tuple[Lane, ...]
    hit: ColumnElement[bool]
    start: Position | None
    rest: Callable[[Position | None, int], Select[Any]]
    tests: tuple[tuple[FromClause, ColumnElement[bool]], ...] = ()
    filtered: bool = False

    def worth_it(self, experiments: int | None) -> bool:
        """Whether to walk in a store of about ``experiments`` experiments (None: unknown)."""
        return not self.filtered or experiments is None or experiments > WALK_ABOVE

    def window(self, lane: Lane, after: Position | None, size: int) -> Select[Any]:
        """The next ``size`` rows of ``lane`` after ``after``: ``(eid, v0[, v1], cut, hit)``."""
        inner = lane.rows(after, size)
        source = inner.join(experiments, E.id == inner.c.eid)
        for target, onclause in self.tests:
            source = source.outerjoin(target, onclause)
        values: list[ColumnElement[Any]]
        sort: list[ColumnElement[Any]]
        if lane.kind == "metric":
            values, sort = [inner.c.v0], [inner.c.v0]
        else:
            values = [inner.c.v0, inner.c.v1]
            text: ColumnElement[Any] = BinaryCollate(inner.c.v1)
            sort = [text] if lane.kind == "text" else [inner.c.v0, text]
        order = [c.desc() if lane.descending else c.asc() for c in sort]
        return (
            select(inner.c.eid, *values, inner.c.cut, self.hit.label("hit"))
            .select_from(source)
            .order_by(*order, inner.c.eid.desc())
        )


def fetch_walked(
    walk: IndexWalk,
    run: Callable[[Select[Any]], Sequence[Sequence[Any]]],
    *,
    want: int,
    first_window: int = FIRST_WINDOW,
    budget: int = BUDGET,
) -> list[tuple[Any, ...]]:
    """The first ``want`` rows ``(experiment key, *sort values)`` of ``walk``'s search.

    ``run`` executes a statement and returns its rows. ``first_window`` and ``budget`` are
    the sizes described in the module docstring (tests make them tiny to walk every branch).
    """
    found: list[tuple[Any, ...]] = []
    after = walk.start
    lanes = list(walk.lanes)
    while after is not None and lanes and not lanes[0].holds(after):
        lanes.pop(0)  # the page starts in a later lane
    size = max(first_window, 2 * want)
    limit = max(budget, 20 * want)
    scanned = hits = 0
    within: Position | None = after  # the position inside the current lane
    while lanes:
        lane = lanes[0]
        rows = run(walk.window(lane, within, size))
        scanned += len(rows)
        for row in rows:
            *head, cut, hit = row
            if cut:
                return _finish(walk, run, found, after, want)
            position: Position = ((*head[1:],), int(head[0]))
            after = within = position
            if hit:
                hits += 1
                found.append(tuple(head))
                if len(found) == want:
                    return found
        if len(rows) < size:
            lanes.pop(0)  # this lane is exhausted: the next lane's rows sort after it
            within = None
            continue
        estimate = int((want - len(found)) * scanned / max(hits, 1) * WALK_ROW_COST) + 1
        if scanned + estimate > limit:
            break  # too selective a filter to walk: the planner's plan finishes it
        size = min(max(estimate, first_window), limit - scanned)
    return _finish(walk, run, found, after, want)


def _finish(
    walk: IndexWalk,
    run: Callable[[Select[Any]], Sequence[Sequence[Any]]],
    found: list[tuple[Any, ...]],
    after: Position | None,
    want: int,
) -> list[tuple[Any, ...]]:
    """``found`` completed by the ordinary statement from ``after``."""
    found.extend(tuple(r) for r in run(walk.rest(after, want - len(found))))
    return found
