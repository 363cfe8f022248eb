"""The first rows of a search sorted by one metric, found by walking that metric's index.

``metrics.acc > 0.9 and params.opt = 'adam' order by metrics.loss limit 100`` is the
leaderboard query. The planners of SQLite and PostgreSQL start it from the most selective
filter and sort every match, because they cannot tell that walking ``metrics (key, last,
experiment_id)`` in sort order and testing each experiment would stop after a few hundred
rows: at 100,000 experiments that is tens of milliseconds against a few.

:func:`fetch_walked` therefore reads the sort index in windows (keyset-paginated ``SELECT``\\ s
of ``window`` index rows, each row tested by the whole filter, flagged ``hit``), keeps the hits
in order and grows the next window from the hit rate seen so far. When the estimated rows
still to read exceed ``budget`` (a very selective filter, where the planner's own plan is the
better one), or when the index has no further rows (the rest sort last: no such metric, or
its last value is NaN), the ordinary statement finishes the page from the last row walked.
Either way the rows are exactly those of the ordinary statement, in the same order.

Example:
    >>> from sqlalchemy import select, true
    >>> walk = MetricWalk("acc", descending=True, hit=true(), start=None,
    ...                   rest=lambda after, limit: select(E.id).limit(limit))
    >>> index = [(7, 0.9, True), (3, 0.8, False), (5, 0.7, True)]
    >>> fetch_walked(walk, lambda stmt: index, want=2)
    [(7, 0.9), (5, 0.7)]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, or_, select

from mled.query.conditions import E, bound
from mled.store.sql.tables import experiments, metrics

Position = tuple[float, int]
"""(sort value, experiment key) of a row: where the next window starts."""

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

_INDEXED = metrics.alias("walk_m")


@dataclass(frozen=True, slots=True)
class MetricWalk:
    """A search sorted by ``metrics.<key>`` alone, and how to finish it without the index.

    ``hit`` is the whole filter (project restriction included) as a boolean expression on
    ``experiments``; ``start`` the position of the page token, if any; ``rest(after, limit)``
    the ordinary statement limited to rows after ``after`` (None: from the start); ``tests``
    the filter's row tests, joined to each walked row; ``filtered`` whether there is a
    filter beyond the project restriction.
    """

    key: str
    descending: bool
    hit: ColumnElement[bool]
    start: Position | None
    rest: Callable[[Position | None, int], Select[Any]]
    tests: tuple[tuple[FromClause, ColumnElement[bool]], ...] = ()
    filtered: bool = False

    def worth_it(self, experiments: int | None) -> bool:
        """Whether to walk in a store of about ``experiments`` experiments (None: unknown)."""
        return not self.filtered or experiments is None or experiments > WALK_ABOVE

    def window(self, after: Position | None, size: int) -> Select[Any]:
        """The next ``size`` index rows after ``after``, each with its ``hit`` flag."""
        m = _INDEXED
        rows = select(m.c.experiment_id.label("eid"), m.c.last.label("v")).where(
            m.c.key == bound(self.key), m.c.last.is_not(None)
        )
        if after is not None:
            value, key = bound(after[0]), bound(after[1])
            # The range bound alone is what lets the planner seek the index (an OR would not).
            if self.descending:
                reach, beyond = m.c.last <= value, m.c.last < value
            else:
                reach, beyond = m.c.last >= value, m.c.last > value
            rows = rows.where(reach, or_(beyond, m.c.experiment_id < key))
        direction = m.c.last.desc() if self.descending else m.c.last.asc()
        inner = rows.order_by(direction, m.c.experiment_id.desc()).limit(size).subquery("walk")
        order = inner.c.v.desc() if self.descending else inner.c.v.asc()
        source = inner.join(experiments, E.id == inner.c.eid)
        for target, onclause in self.tests:
            source = source.outerjoin(target, onclause)
        return (
            select(inner.c.eid, inner.c.v, self.hit.label("hit"))
            .select_from(source)
            .order_by(order, inner.c.eid.desc())
        )


def fetch_walked(
    walk: MetricWalk,
    run: Callable[[Select[Any]], Sequence[Sequence[Any]]],
    *,
    want: int,
    first_window: int = FIRST_WINDOW,
    budget: int = BUDGET,
) -> list[tuple[Any, ...]]:
    """The first ``want`` rows ``(experiment key, sort value)`` of ``walk``'s search.

    ``run`` executes a statement and returns its rows. ``first_window`` and ``budget`` are
    the sizes described in the module docstring (tests make them tiny to walk every branch).
    """
    found: list[tuple[Any, ...]] = []
    after = walk.start
    size = max(first_window, 2 * want)
    limit = max(budget, 20 * want)
    scanned = hits = 0
    while True:
        rows = run(walk.window(after, size))
        scanned += len(rows)
        for key, value, hit in rows:
            if hit:
                hits += 1
                found.append((key, value))
                if len(found) == want:
                    return found
        if rows:
            after = (float(rows[-1][1]), int(rows[-1][0]))
        if len(rows) < size:
            break  # the index is exhausted: what remains sorts last
        estimate = int((want - len(found)) * scanned / max(hits, 1) * WALK_ROW_COST) + 1
        if scanned + estimate > limit:
            break  # too selective a filter to walk: the planner's plan finishes it
        size = min(max(estimate, first_window), limit - scanned)
    found.extend(tuple(r) for r in run(walk.rest(after, want - len(found))))
    return found
