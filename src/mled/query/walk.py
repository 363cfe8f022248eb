"""The first rows of a search sorted by one metric, param or tag, or by nothing, found by
walking an index.

``metrics.acc > 0.9 and params.opt = 'adam' order by metrics.loss limit 100`` is the
leaderboard query, and ``order by params.lr`` the click on a column header. The planners of
SQLite and PostgreSQL start such a search from the most selective filter (or from every
experiment) and sort every match, because they cannot tell that walking the sort key's index
in sort order and testing each experiment would stop after a few hundred rows: at 100,000
experiments that is tens to hundreds of milliseconds against a few. The same holds for a
filtered search with no sort key (newest first, ``metrics.acc > 0.9 limit 100``): the
planners start from the filter's index and sort every match by key; the ``newest`` lane walks
the experiments themselves. That holds for SQLite only: PostgreSQL's planner already reads
such a page newest first and stops at the limit (5-8 ms at 100,000, where walking took 8-33
ms), so its searches do not walk that lane (``walk_newest`` of :meth:`IndexWalk.worth_it`).

:func:`fetch_walked` therefore reads the index in windows (keyset-paginated ``SELECT``\\ s of
``window`` index rows, each row tested by the whole filter, flagged ``hit``), keeps the hits
in order and grows the next window from the hit rate seen so far. A sort key's rows may lie in
more than one index, one :class:`Lane` each, walked one after the other in sort order: a
metric's last values are one lane; a param's numbers (``value_num``, then its text for ties)
come before its other texts (``value_prefix``), as in the ordinary statement; a tag's values
are one lane (``value_prefix``). When the estimated rows still to read exceed ``budget`` (a
very selective filter, where the planner's own plan is the better one), when the lanes have
no further rows (the rest sort last: no such key, or a NaN metric), when equal numbers fill
a whole window (their order among themselves is their text, which the index does not hold),
or when a text lane meets a value its 200-character prefix does not hold whole (whose order
only the full text decides), the ordinary statement finishes the page from the last row
walked (a page larger than ``NEWEST_PAGE_MAX`` walked newest first and given up after its
first window runs the page's own statement from the page's start instead: the planner plans
it better). Either way the rows are exactly those of the ordinary statement, in the same
order.

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
from itertools import groupby
from math import sqrt
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
from mled.store.sql.tables import experiments, metrics, params, tags
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
NEWEST_PAGE_MAX = 1_000
"""Rows a page may ask for at most (its size and one more, to see whether another page
follows) to walk the experiments newest first as the sorted lanes are walked: a first window
of twice the page and up to ``BUDGET`` rows. A larger page (the default page of 1,000 is
one) walks them only while enough of them pass the filter (:func:`least_hit_rate`)."""
NEWEST_ROW_WORTH = 0.44
"""How many rows of the planner's plan cost as much as one experiment walked newest first.

Walking a page of ``want`` rows newest first reads about ``want / rate`` experiments (the
filter passes ``rate`` of them), testing each by key; the plan reads every match from an
index and sorts them, about ``rate * experiments`` rows. Measured on SQLite at 100,000
experiments (medians of 5, pages of 1,000 and 10,000): filters passing 25-75% of the
experiments (a tag's value, its ``!=``, an ``ilike``) took 35-48 ms walked for a page of
1,000 against 120-175 ms planned, and 270-380 against 350-560 ms for a page of 10,000 at
75%; at 8% a page of 1,000 took 75-88 ms walked against 57 ms planned, and at 25% a page
of 10,000 500-570 against 350-450 ms. Walking wins above a rate of about
``sqrt(want / (NEWEST_ROW_WORTH * experiments))``: 15% and 48% for those pages."""
NEWEST_LEAST_RATE_MAX = 0.3
"""A large page does not walk at all when it would need more than this share to pass: the
walk would gain little (a fifth for ``tags.t0 != 'vision'``, 75%, pages of 10,000), and its
first window costs the selective filters (q4 of the search benchmark, 5%, pages of 10,000:
1.5 ms more on the median, 4 ms on the fastest, of 30 alternated searches, twice)."""

_EXPERIMENTS = experiments.alias("walk_e")
_METRICS = metrics.alias("walk_m")
_PARAMS = params.alias("walk_p")
_TAGS = tags.alias("walk_t")

LaneKind = Literal["metric", "number", "text", "tag", "newest"]
TEXT_LANES = ("text", "tag")
"""Lanes read in the order of an index on text (``value_prefix``)."""


Cursor = tuple[SortValue, Position | None, bool]
"""Where a lane's next window starts: after every row whose indexed value comes before this
value, and, given a position, after the rows of this value up to that position. True: the
window reads only the rows of this value (a run longer than a window), by key."""


@dataclass(frozen=True, slots=True)
class _Source:
    """What a lane reads: the key column, the indexed column whose order the window follows
    (``group``), the values a row returns (``v0``, ``v1``), the lane's rows, the ``cut`` flag,
    and the text that orders equal numbers (``tie``, number lanes only)."""

    eid: ColumnElement[Any]
    group: ColumnElement[Any]
    values: Sequence[ColumnElement[Any]]
    where: Sequence[ColumnElement[bool]]
    cut: ColumnElement[bool]
    tie: ColumnElement[Any] | None = None


@dataclass(frozen=True, slots=True)
class Lane:
    """The rows of one sort key held by one index, in sort order.

    ``metric``: a metric's last values (NaN and missing ones are in no lane). ``number``: a
    param's values that have a number, by number, then by text, as the ordinary statement sorts
    them. ``text``: a param's other values, and ``tag``: a tag's values, by their indexed
    prefix; a row whose prefix may not be its whole text is flagged ``cut``, and the walk
    stops before it. ``newest``: the experiments themselves, newest first (the order of a
    search with no ``order by``); each value (the key) is its own run.

    A window reads the index in its own order (value, then key in the same direction), which
    needs no sort; :meth:`in_order` puts each run of equal values in the search's order (text,
    then key newest first), and the walk only uses runs that end inside a window. A run of
    equal texts or metric values that fills a window is read on its own, by key, newest
    first: the order the index holds it in.

    Example:
        >>> Lane("number", "lr", descending=False).holds(((0.1, "0.1"), 7))
        True
    """

    kind: LaneKind
    key: str
    descending: bool

    @property
    def unique(self) -> bool:
        """Whether each value is one row's (the key): a run never goes on past its window."""
        return self.kind == "newest"

    def holds(self, position: Position) -> bool:
        """Whether a page token's ``position`` lies in this lane (the walk may start there)."""
        values = position[0]
        if self.kind == "newest":
            return True
        if self.kind in ("metric", "number"):
            return values[0] is not None
        if self.kind == "text" and values[0] is not None:
            return False
        text = values[-1]
        return isinstance(text, str) and len(text) < PREFIX_LENGTH

    def group_of(self, head: Sequence[Any]) -> Any:
        """The indexed value of a row ``(eid, v0[, v1])``: rows with equal ones form a run."""
        if self.kind == "newest":
            return head[0]
        return head[2] if self.kind == "text" else head[1]

    def cursor(self, position: Position, *, within: bool = False) -> Cursor:
        """The cursor of the rows after ``position`` (one this lane :meth:`holds`)."""
        return self.group_of((position[1], *position[0])), position, within

    def in_order(self, run: list[Sequence[Any]]) -> list[Sequence[Any]]:
        """A run of rows with equal indexed values, in the search's order."""
        if len(run) == 1:
            return run
        if self.kind != "number":
            return sorted(run, key=lambda r: -r[0])  # the final tiebreak: key, descending
        if self.descending:
            return sorted(run, key=lambda r: (r[2], r[0]), reverse=True)
        return sorted(run, key=lambda r: (r[2], -r[0]))

    def step(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        """``col`` in the lane's direction, for ``ORDER BY``."""
        return col.desc() if self.descending else col.asc()

    def rows(self, cursor: Cursor | None, size: int) -> FromClause:
        """The next ``size`` rows of the lane after ``cursor``, in the index's order: ``eid``,
        the sort values (``v0``, and ``v1`` for a param), ``g`` (the indexed value) and
        ``cut``."""
        src = self._source()
        where = list(src.where)
        order = [self.step(src.group), self.step(src.eid)]
        if cursor is not None and cursor[2]:
            # One value's rows by key, newest first: the search's order among equal values.
            assert self.kind != "number", "equal numbers sort by their text"
            assert cursor[0] is not None, "a lane holds no missing value"
            where.append(src.group == bound(cursor[0]))
            if cursor[1] is not None:
                where.append(src.eid < bound(cursor[1][1]))
            order = [src.eid.desc()]
        elif cursor is not None:
            where.extend(self._after(src, cursor[0], cursor[1]))
        stmt = select(src.eid.label("eid"), *src.values, src.group.label("g"), src.cut.label("cut"))
        return stmt.where(*where).order_by(*order).limit(size).subquery("walk")

    def _source(self) -> _Source:
        if self.kind == "newest":
            e = _EXPERIMENTS
            return _Source(e.c.id, e.c.id, [], [], false())
        if self.kind == "metric":
            m = _METRICS
            where = [m.c.key == bound(self.key), m.c.last.is_not(None)]
            return _Source(m.c.experiment_id, m.c.last, [m.c.last.label("v0")], where, false())
        if self.kind == "tag":
            t = _TAGS
            prefix = t.c.value_prefix
            cut = func.length(prefix) >= PREFIX_LENGTH
            where = [t.c.key == bound(self.key)]
            return _Source(
                t.c.experiment_id, BinaryCollate(prefix), [prefix.label("v0")], where, cut
            )
        p = _PARAMS
        if self.kind == "number":
            where = [p.c.key == bound(self.key), p.c.value_num.is_not(None)]
            values = [p.c.value_num.label("v0"), p.c.value_text.label("v1")]
            tie = BinaryCollate(p.c.value_text)
            return _Source(p.c.experiment_id, p.c.value_num, values, where, false(), tie)
        where = [p.c.key == bound(self.key), p.c.value_num.is_(None)]
        values = [null().label("v0"), p.c.value_prefix.label("v1")]
        cut = func.length(p.c.value_prefix) >= PREFIX_LENGTH
        return _Source(p.c.experiment_id, BinaryCollate(p.c.value_prefix), values, where, cut)

    def _after(
        self, src: _Source, value: SortValue, position: Position | None
    ) -> list[ColumnElement[bool]]:
        """Rows after ``value`` (and within it, after ``position``): a range on the indexed
        column, which lets the planner seek the index (an OR alone would not), and the exact
        condition."""
        assert value is not None, "a lane holds no missing value"
        v = bound(value)
        col = src.group
        beyond = col < v if self.descending else col > v
        if position is None or self.kind == "newest":  # newest: the value is the key
            return [beyond]
        later: ColumnElement[bool] = src.eid < bound(position[1])
        if src.tie is not None:
            t = position[0][1]
            assert isinstance(t, str), "a number's text"
            text = bound(t)
            first = src.tie < text if self.descending else src.tie > text
            later = or_(first, and_(src.tie == text, later))
        reach = col <= v if self.descending else col >= v
        return [reach, or_(beyond, and_(col == v, later))]


def lanes_of(
    kind: Literal["metric", "param", "tag"], key: str, descending: bool
) -> tuple[Lane, ...]:
    """The lanes of a sort by one metric's last value, one param or one tag, in sort order.

    Example:
        >>> [lane.kind for lane in lanes_of("param", "lr", descending=True)]
        ['number', 'text']
    """
    if kind == "param":
        return (Lane("number", key, descending), Lane("text", key, descending))
    return (Lane(kind, key, descending),)


@dataclass(frozen=True, slots=True)
class IndexWalk:
    """A search sorted by one metric, param or tag, and how to finish it without the index.

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

    def worth_it(self, experiments: int | None, want: int, *, walk_newest: bool = True) -> bool:
        """Whether to walk for ``want`` rows in a store of about ``experiments`` experiments
        (None: unknown); ``walk_newest=False`` never walks the ``newest`` lane (for a
        database whose planner reads an unsorted filtered page newest first itself)."""
        if self.lanes[0].kind == "newest" and not walk_newest:
            return False
        if self.large_newest_page(want) and (
            not self.tests  # on columns of experiments: the plan reads newest first too
            or experiments is None
            or least_hit_rate(want, experiments) > NEWEST_LEAST_RATE_MAX
        ):
            return False
        return not self.filtered or experiments is None or experiments > WALK_ABOVE

    def large_newest_page(self, want: int) -> bool:
        """Whether ``want`` rows walked newest first are more than ``NEWEST_PAGE_MAX``: such a
        page walks only while enough experiments pass (:func:`least_hit_rate`)."""
        return self.lanes[0].kind == "newest" and want > NEWEST_PAGE_MAX

    def window(self, lane: Lane, cursor: Cursor | None, size: int) -> Select[Any]:
        """The next ``size`` rows of ``lane`` after ``cursor``, in the index's order:
        ``(eid, v0[, v1], cut, hit)``."""
        inner = lane.rows(cursor, size)
        source = inner.join(experiments, E.id == inner.c.eid)
        for target, onclause in self.tests:
            source = source.outerjoin(target, onclause)
        values = [c for c in inner.c if c.key in ("v0", "v1")]
        group = BinaryCollate(inner.c.g) if lane.kind in TEXT_LANES else inner.c.g
        order = [lane.step(group), lane.step(inner.c.eid)]
        if cursor is not None and cursor[2]:
            order = [inner.c.eid.desc()]
        return (
            select(inner.c.eid, *values, inner.c.cut, self.hit.label("hit"))
            .select_from(source)
            .order_by(*order)
        )


def fetch_walked(
    walk: IndexWalk,
    run: Callable[[Select[Any]], Sequence[Sequence[Any]]],
    *,
    want: int,
    first_window: int = FIRST_WINDOW,
    budget: int = BUDGET,
    experiments: int | None = None,
) -> list[tuple[Any, ...]]:
    """The first ``want`` rows ``(experiment key, *sort values)`` of ``walk``'s search.

    ``run`` executes a statement and returns its rows. ``first_window`` and ``budget`` are
    the sizes described in the module docstring (tests make them tiny to walk every branch);
    ``experiments`` is about how many the store holds (for a page larger than
    ``NEWEST_PAGE_MAX`` walked newest first).
    """
    found: list[tuple[Any, ...]] = []
    after = walk.start
    lanes = list(walk.lanes)
    while after is not None and lanes and not lanes[0].holds(after):
        lanes.pop(0)  # the page starts in a later lane
    cursor = None if after is None or not lanes else lanes[0].cursor(after)
    size, limit = _window_and_limit(walk, want, first_window, budget, experiments)
    scanned = hits = 0
    while lanes:
        lane = lanes[0]
        rows = run(walk.window(lane, cursor, size))
        scanned += len(rows)
        full = len(rows) == size
        within = cursor is not None and cursor[2]
        runs = [list(r) for _, r in groupby(rows, key=lane.group_of)]
        if full and len(runs) == 1 and not within and not lane.unique:
            # One value fills the window: read its rows by key. Equal numbers sort by their
            # text first, which their index does not hold: the plan sorts them. (Growing the
            # window to hold the run measured slower than the plan for two values of 50,000
            # experiments each: 130 against 70 ms.)
            if lane.kind == "number":
                break
            value = lane.group_of(rows[0])
            inside = after is not None and lane.holds(after) and lane.cursor(after)[0] == value
            cursor = (value, after if inside else None, True)
            continue
        if full and not within and not lane.unique:
            runs.pop()  # it may go on past the window: the next window reads it again
        for same in runs:
            if same[0][-2]:
                return _finish(walk, run, found, after, want)  # the prefix is not the text
            for row in lane.in_order(same):
                head = tuple(row[:-2])
                after = ((*head[1:],), int(head[0]))
                if row[-1]:
                    hits += 1
                    found.append(head)
                    if len(found) == want:
                        return found
        if within and cursor is not None:
            # Past the run when it ended inside the window, else further into it.
            cursor = (cursor[0], after, True) if full else (cursor[0], None, False)
        elif not full:
            lanes.pop(0)  # this lane is exhausted: the next lane's rows sort after it
            cursor = None
            continue
        else:
            cursor = (lane.group_of(runs[-1][0]), None, False)
        estimate = int((want - len(found)) * scanned / max(hits, 1) * WALK_ROW_COST) + 1
        if scanned + estimate > limit:
            if walk.large_newest_page(want) and scanned == size:
                # A large page given up after one window: its own statement, with no position
                # to start after, is planned better (57 against 65 ms, 8% passing). A small
                # page is not: `metrics.m0 > 0.999 limit 100` 15-18 ms from the position, 23
                # ms from the start (medians of 15, two alternated runs each).
                return _finish(walk, run, [], walk.start, want)
            break  # too selective a filter to walk: the planner's plan finishes it
        size = min(max(estimate, first_window), limit - scanned)
    return _finish(walk, run, found, after, want)


def least_hit_rate(want: int, experiments: int) -> float:
    """The share of the experiments walked newest first that must pass the filter for a
    walk to find ``want`` rows faster than the planner's plan (see ``NEWEST_ROW_WORTH``).

    Example:
        >>> round(least_hit_rate(1_001, 100_000), 2), least_hit_rate(10_001, 10_000)
        (0.15, 1.0)
    """
    return min(1.0, sqrt(want / (NEWEST_ROW_WORTH * max(experiments, 1))))


def _window_and_limit(
    walk: IndexWalk, want: int, first_window: int, budget: int, experiments: int | None
) -> tuple[int, int]:
    """The first window's size, and the index rows to read at most, for ``want`` rows.

    A page larger than ``NEWEST_PAGE_MAX`` walked newest first reads a first window of
    ``first_window`` rows, which measures how many pass the filter, and goes on only while
    that rate is at least :func:`least_hit_rate`."""
    if walk.large_newest_page(want):
        rate = least_hit_rate(want, experiments or want)
        return first_window, max(first_window, int(want / rate))
    return max(first_window, 2 * want), max(budget, 20 * want)


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
