"""Compile a filter expression into a SQLAlchemy boolean clause over ``experiments``.

Every condition is two-valued (never SQL ``NULL``), so ``not`` means exactly "the condition is
false" as in the reference evaluator:

* a param/metric/tag condition is ``experiments.id IN (SELECT experiment_id FROM params
  WHERE key = :k AND <test on the row>)``; the subquery never yields NULL, so the ``IN`` is
  true or false, and SQL's NULL-is-false inside ``WHERE`` gives "missing or not comparable
  never matches";
* a condition on a nullable column is guarded with ``col IS NOT NULL AND ...``.

All literals become bound parameters.

Text equality and ``in`` on params and tags go through the indexed ``value_prefix`` column
(the first 200 characters; a PostgreSQL btree row cannot hold a 64 KiB value) and then compare
the full text: ``value_prefix = :prefix AND value_text = :text`` uses the index and stays
exact for long values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Double,
    FromClause,
    Select,
    Table,
    Text,
    and_,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)

from mled.query.ast import (
    And,
    Attribute,
    Boolean,
    Comparison,
    Dataset,
    Expr,
    InList,
    IsNull,
    Like,
    Metric,
    Not,
    Number,
    Op,
    Or,
    Param,
    RelativeTime,
    String,
    Tag,
    Timestamp,
    Value,
)
from mled.query.dialect import BinaryCollate, Likely, like_match
from mled.query.fields import (
    NULLABLE_ATTRIBUTES,
    TIME_OR_NUMBER_ATTRIBUTES,
)
from mled.query.patterns import ascii_lower, tokenize
from mled.store.sql.tables import (
    dataset_inputs,
    dataset_versions,
    datasets,
    experiments,
    metrics,
    params,
    projects,
    tags,
    users,
)
from mled.store.sql.tables.meta import PREFIX_LENGTH
from mled.validation import number_of_text

Clause = ColumnElement[bool]
E = experiments.c

_ORDERING = (Op.LT, Op.LE, Op.GT, Op.GE)

METRIC_RANGE_LIKELIHOOD = 0.5
"""How often SQLite's planner assumes ``metrics.K > x`` (or ``<``, ``<=``, ``>=``) holds.

Without histograms (Python's SQLite has no STAT4) it assumes a quarter of the rows, while the
equality of a param or tag is estimated from its measured average number of rows per value.
A quarter made ``metrics.m0 > 0.5 and params.p3 = 'a'`` (half and a fifth of the rows) start
from the metric: twice the work of starting from the param (19 against 9 ms at 10,000
experiments). Half is the even guess for a threshold on a metric's unknown spread."""


def keyed_table(field: Param | Metric | Tag) -> Table:
    """The table holding one row per (experiment, key) for ``field``.

    Example:
        >>> keyed_table(Metric("acc")).name
        'metrics'
    """
    if isinstance(field, Param):
        return params
    return metrics if isinstance(field, Metric) else tags


def dataset_column(field: Dataset) -> ColumnElement[Any]:
    """The column of ``dataset.name|version|digest|role``.

    Example:
        >>> str(dataset_column(Dataset("digest"))), str(dataset_column(Dataset("role")))
        ('dataset_versions.digest', 'dataset_inputs.role')
    """
    if field.attr == "name":
        return datasets.c.name
    if field.attr == "role":
        return dataset_inputs.c.role
    return dataset_versions.c[field.attr]


def dataset_inputs_select(*columns: ColumnElement[Any]) -> Select[Any]:
    """``SELECT <columns> FROM dataset_inputs JOIN dataset_versions JOIN datasets``.

    With no columns it selects ``dataset_inputs.experiment_id``.

    Example:
        >>> str(dataset_inputs_select()).splitlines()[0]
        'SELECT dataset_inputs.experiment_id '
    """
    versions = dataset_versions
    source = dataset_inputs.join(
        versions, versions.c.id == dataset_inputs.c.dataset_version_id
    ).join(datasets, datasets.c.id == versions.c.dataset_id)
    return select(*(columns or (dataset_inputs.c.experiment_id,))).select_from(source)


def attribute_column(name: str) -> ColumnElement[Any]:
    """The SQL expression of a directly stored attribute (not ``project``/``owner``).

    Example:
        >>> str(attribute_column("duration"))
        'experiments.ended_at - experiments.started_at'
    """
    columns: dict[str, ColumnElement[Any]] = {
        "id": E.public_id,
        "name": E.name,
        "group": E.group_name,
        "status": E.status,
        "created": E.created_at,
        "started": E.started_at,
        "ended": E.ended_at,
        "git.commit": E.git_commit,
        "git.branch": E.git_branch,
    }
    if name == "duration":
        return E.ended_at - E.started_at
    return columns[name]


def bound(value: str | float) -> BindParameter[Any]:
    """A bound parameter typed by the Python value, never by the column it is compared with.

    (Typing it by the column would make PostgreSQL cast ``2.5`` to ``BIGINT`` for
    ``metrics.x.count > 2.5`` and round it.)

    Example:
        >>> bound(2.5).type, bound("adam").value
        (Double(), 'adam')
    """
    if isinstance(value, bool):
        raise TypeError("booleans are compared as 1.0/0.0")
    if isinstance(value, float):
        return literal(value, Double())
    if isinstance(value, int):
        return literal(value, BigInteger())
    return literal(value, Text())


def in_list(col: ColumnElement[Any], values: list[Any], *, negated: bool) -> Clause:
    """``col [NOT] IN (...)`` with the values bound as their own type (see :func:`bound`).

    Example:
        >>> str(in_list(metrics.c.count, [1.5, 2.0], negated=True))
        '(metrics.count NOT IN (__[POSTCOMPILE_param_1]))'
    """
    if any(isinstance(v, float) for v in values):
        col = type_coerce(col, Double())
    return col.not_in(values) if negated else col.in_(values)


def compare(col: ColumnElement[Any], op: Op, value: Any, *, text: bool) -> Clause:
    """``col op :value``; text ordering comparisons use code-point order on every dialect.

    Example:
        >>> str(compare(E.name, Op.LT, "m", text=True))
        'experiments.name < :param_1'
    """
    if text and op in _ORDERING:
        col = BinaryCollate(col)
    bound_value = bound(value)
    ops: dict[Op, Callable[[], Clause]] = {
        Op.EQ: lambda: col == bound_value,
        Op.NE: lambda: col != bound_value,
        Op.LT: lambda: col < bound_value,
        Op.LE: lambda: col <= bound_value,
        Op.GT: lambda: col > bound_value,
        Op.GE: lambda: col >= bound_value,
    }
    return ops[op]()


def text_test(
    table: FromClause, full: str, expr: Comparison | InList | Like, values: list[str]
) -> Clause | None:
    """Equality / ``in`` on the text column ``full`` of a params or tags row through its
    indexed prefix (None for any other test, which compares the full column alone).

    ``value_prefix`` holds the first 200 characters of the value, so for a literal shorter
    than that, ``value_prefix = :literal`` alone is exact (a longer value has a 200-character
    prefix) and the index covers the test; a longer literal also compares the full text.

    Example:
        >>> test = text_test(tags, "value", Comparison(Tag("t"), Op.EQ, String("x")), ["x"])
        >>> str(test)
        'tags.value_prefix = :param_1'
        >>> long = text_test(tags, "value", Comparison(Tag("t"), Op.EQ, String("")), ["y" * 300])
        >>> str(long)
        'tags.value_prefix = :param_1 AND tags.value = :param_2'
    """
    if not (isinstance(expr, Comparison) and expr.op is Op.EQ) and not (
        isinstance(expr, InList) and not expr.negated
    ):
        return None
    col, prefix = table.c[full], table.c.value_prefix
    short = sorted({v for v in values if len(v) < PREFIX_LENGTH})
    parts: list[Clause] = []
    if short:
        parts.append(
            prefix == bound(short[0]) if len(short) == 1 else in_list(prefix, short, negated=False)
        )
    for value in sorted({v for v in values if len(v) >= PREFIX_LENGTH}):
        parts.append(and_(prefix == bound(value[:PREFIX_LENGTH]), col == bound(value)))
    return parts[0] if len(parts) == 1 else or_(*parts)


def prefix_range(prefix: ColumnElement[Any], expr: Like) -> Clause | None:
    """For a case-sensitive ``like`` whose pattern starts with literal text, a range on the
    indexed ``prefix`` column that holds every match (None for other patterns).

    ``value_prefix`` is the first 200 characters of the value, so a value starts with the
    literal ``p`` only if its prefix lies in ``[p[:200], p[:200] with its last character
    incremented)``; the ``like`` itself still decides. ``tags.team like 'vis%'`` then reads
    the index entries of that range instead of every row of the key.

    Example:
        >>> str(prefix_range(tags.c.value_prefix, Like(Tag("t"), "vis%")))
        'tags.value_prefix >= :param_1 AND tags.value_prefix < :param_2'
    """
    if not expr.case_sensitive or expr.negated:
        return None
    literal_text = ""
    for kind, ch in tokenize(expr.pattern):
        if kind != "lit":
            break
        literal_text += ch
    start = literal_text[:PREFIX_LENGTH]
    if not start or ord(start[-1]) >= 0x10FFFF:
        return None
    after = ord(start[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:  # no text holds a surrogate: the next character is U+E000
        after = 0xE000
    end = start[:-1] + chr(after)
    return and_(compare(prefix, Op.GE, start, text=True), compare(prefix, Op.LT, end, text=True))


def starts_with_only(pattern: str) -> bool:
    """Whether ``pattern`` is literal text shorter than the indexed prefix followed by ``%``
    alone (``'vis%'``): then :func:`prefix_range` is the whole test.

    Example:
        >>> starts_with_only("vis%"), starts_with_only("v_s%"), starts_with_only("vis")
        (True, False, False)
    """
    tokens = tokenize(pattern)
    literal = 0
    while literal < len(tokens) and tokens[literal][0] == "lit":
        literal += 1
    rest = tokens[literal:]
    return 0 < literal < PREFIX_LENGTH and bool(rest) and all(k == "any" for k, _ in rest)


def param_text_test(
    table: FromClause, expr: Comparison | InList, values: list[str]
) -> Clause | None:
    """Equality / ``in`` of a params row's text with ``values`` through the params indexes (None
    for any other test).

    Each params row is in one of two partial indexes: rows with a number in
    ``(key, value_num)``, the others in ``(key, value_prefix)``. A row with a number matches
    the text ``v`` only if its number is ``number_of_text(v)``, so each value is one prefix
    lookup among the rows without a number, plus, when it spells a number (or ``true`` /
    ``false``), one lookup of that number checked against the full text.

    Example:
        >>> test = param_text_test(params, Comparison(Param("p"), Op.EQ, String("a")), ["a"])
        >>> str(test)
        'params.value_num IS NULL AND params.value_prefix = :param_1'
        >>> "params.value_num = :param_" in str(
        ...     param_text_test(params, Comparison(Param("p"), Op.EQ, String("")), ["0.1"])
        ... )
        True
    """
    prefixed = text_test(table, "value_text", expr, values)
    if prefixed is None:
        return None
    c = table.c
    parts: list[Clause] = [and_(c.value_num.is_(None), prefixed)]
    for value in sorted(set(values)):
        num = number_of_text(value)
        if num is not None:
            parts.append(and_(c.value_num == bound(num), c.value_text == bound(value)))
    return parts[0] if len(parts) == 1 else or_(*parts)


_NUMBER_TEXT_ASCII = frozenset(
    [c for c in map(chr, range(128)) if c.isspace() or c.isdigit()] + list(".+-eEtruefals")
)
"""Every ASCII character the text of a param with a number can hold: that text spells the
number (digits, sign, point, exponent, Unicode spaces around a string's number) or is
``true``/``false`` (see :func:`mled.validation.number_of_text`)."""
_NUMBER_TEXT_FIRST = frozenset(c for c in _NUMBER_TEXT_ASCII if c not in "eEruals")
_NUMBER_TEXT_LAST = frozenset(c for c in _NUMBER_TEXT_ASCII if c not in "+-Etrufals")


def numbers_cannot_match(expr: Like) -> bool:
    """Whether no param that has a number can match ``expr``'s pattern: one of its literal
    characters is ASCII yet can be in no number's text (``'%net%'``: the ``n``), or cannot
    start or end one where the pattern puts it (``'a%'``, ``'%x'``).

    Example:
        >>> numbers_cannot_match(Like(Param("m"), "resnet%"))
        True
        >>> numbers_cannot_match(Like(Param("lr"), "0.1%")), numbers_cannot_match(
        ...     Like(Param("b"), "TRUE", case_sensitive=False))
        (False, False)
    """
    source = expr.pattern if expr.case_sensitive else ascii_lower(expr.pattern)
    tokens = tokenize(source)
    if not tokens:
        return True  # matches only the empty text
    for (kind, ch), allowed in ((tokens[0], _NUMBER_TEXT_FIRST), (tokens[-1], _NUMBER_TEXT_LAST)):
        if kind == "lit" and ch < "\x80" and ch not in allowed:
            return True
    return any(
        kind == "lit" and ch < "\x80" and ch not in _NUMBER_TEXT_ASCII for kind, ch in tokens
    )


def _key_rows(key: str, *conditions: Clause, table: Table = params) -> Select[Any]:
    return select(table.c.experiment_id).where(table.c.key == bound(key), *conditions)


def text_rows(
    table: Table,
    key: str,
    on_text: Callable[[ColumnElement[Any]], Clause],
    exact_on_prefix: bool,
) -> list[Select[Any]]:
    """The ``experiment_id`` of the rows of ``table`` (``params``: those without a number;
    ``tags``) with ``key`` whose text passes ``on_text`` (a test built for any text column),
    read from the table's ``(key, value_prefix)`` index.

    A text shorter than 200 characters is its own prefix, so the index alone decides for it;
    the few longer ones are found in the index and then read whole. With ``exact_on_prefix``
    the test on the prefix is exact for every text, long ones included (``!= 'adam'``: a long
    text is never a short literal), and one index read decides.

    Example:
        >>> reads = text_rows(params, "opt", lambda col: col != bound("adam"), False)
        >>> len(reads), "length(params.value_prefix) <" in str(reads[0])
        (2, True)
    """
    c = table.c
    full = c.value_text if table is params else c.value
    rows: tuple[Clause, ...] = (c.value_num.is_(None),) if table is params else ()
    if exact_on_prefix:
        return [_key_rows(key, *rows, on_text(c.value_prefix), table=table)]
    short = func.length(c.value_prefix) < PREFIX_LENGTH
    # "=" rather than ">=" (a prefix is never longer): PostgreSQL then estimates few long
    # rows, not a third of them.
    long_ = _key_rows(key, *rows, func.length(c.value_prefix) == PREFIX_LENGTH, table=table)
    # Only the long rows the index found are read whole, each by a subquery of its own. Read
    # in the same SELECT, SQLite would read every row of the key from the table (175 ms); as
    # an IN list, PostgreSQL would test every row's full text first. OFFSET 0 keeps
    # PostgreSQL from merging the two SELECTs, which would cost the subquery for every row
    # of the key and compile the statement just in time (+200 ms).
    found = long_.offset(literal_column("0")).subquery("long")
    whole = table.alias("whole")
    read = (
        select(on_text(whole.c[full.key]))
        .where(whole.c.experiment_id == found.c.experiment_id, whole.c.key == bound(key))
        .scalar_subquery()
    )
    return [
        _key_rows(key, *rows, short, on_text(c.value_prefix), table=table),
        select(found.c.experiment_id).where(read),
    ]


def exact_on_prefix(expr: Comparison | InList | Like, literals: list[str]) -> bool:
    """Whether ``expr`` (a text test other than ``like``) decides a text from its 200-character
    prefix alone: a comparison with, or ``not in`` of, literals shorter than that. (A longer
    text compares with a shorter literal within its first ``len(literal) + 1`` characters.)

    Example:
        >>> exact_on_prefix(Comparison(Tag("t"), Op.GT, String("m")), ["m"])
        True
    """
    return not isinstance(expr, Like) and all(len(v) < PREFIX_LENGTH for v in literals)


def param_key_rows(key: str) -> CompoundSelect:
    """The ``experiment_id`` of every params row with ``key``, as two index lookups.

    Each params row is in one of two partial indexes (rows with a number, rows without), and
    a test on ``key`` alone can use neither: as one ``SELECT`` it read every params row of the
    store (120 ms at 100,000 experiments for a key no experiment has, against 0.1 ms).

    Example:
        >>> sql = str(param_key_rows("lr"))
        >>> "value_num IS NOT NULL" in sql and "UNION ALL" in sql and "value_num IS NULL" in sql
        True
    """
    c = params.c
    return union_all(
        _key_rows(key, c.value_num.is_not(None)), _key_rows(key, c.value_num.is_(None))
    )


class ConditionCompiler:
    """Compiles filter expressions; ``now`` (epoch seconds) resolves ``now - 7d``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def compile(self, expr: Expr) -> Clause:
        """Return the two-valued SQL clause of ``expr``."""
        if isinstance(expr, And):
            return and_(*(self.compile(e) for e in expr.items))
        if isinstance(expr, Or):
            return or_(*(self.compile(e) for e in expr.items))
        if isinstance(expr, Not):
            return not_(self.compile(expr.item))
        if isinstance(expr, IsNull):
            return self._is_null(expr)
        return self._predicate(expr)

    # --- values ------------------------------------------------------------------------------

    def plain(self, value: Value) -> Any:
        """The Python value bound for an AST literal."""
        if isinstance(value, RelativeTime):
            return self.now + value.offset
        if isinstance(value, Timestamp):
            return value.seconds
        if isinstance(value, Boolean):
            return 1.0 if value.value else 0.0
        return value.value

    # --- per field kind ----------------------------------------------------------------------

    def row_test(self, table: FromClause, expr: Comparison | InList | Like) -> Clause:
        """Test on one ``params``/``metrics``/``tags`` row (``table`` may be an alias)."""
        field = expr.field
        if isinstance(field, Param):
            return self._param_test(table, expr)
        if isinstance(field, Metric):
            test = self._simple_test(table.c[field.agg], expr, text=False)
            if isinstance(expr, Comparison) and expr.op in _ORDERING:
                return Likely(test, METRIC_RANGE_LIKELIHOOD)
            return test
        if isinstance(expr, Like):
            ranged = prefix_range(table.c.value_prefix, expr)
            if ranged is not None and starts_with_only(expr.pattern):
                return ranged  # exact: the index alone answers it
            return self._text_test(expr)(table.c.value)
        values = [expr.value] if isinstance(expr, Comparison) else []
        values = list(expr.values) if isinstance(expr, InList) else values
        prefixed = None
        if values and all(isinstance(v, String) for v in values):
            texts = [v.value for v in values if isinstance(v, String)]
            prefixed = text_test(table, "value", expr, texts)
        return self._simple_test(table.c.value, expr, text=True) if prefixed is None else prefixed

    def _simple_test(
        self, col: ColumnElement[Any], expr: Comparison | InList | Like, *, text: bool
    ) -> Clause:
        if isinstance(expr, Like):
            match: Clause = like_match(col, expr.pattern, case_sensitive=expr.case_sensitive)
            return not_(match) if expr.negated else match
        if isinstance(expr, Comparison):
            return compare(col, expr.op, self.plain(expr.value), text=text)
        return in_list(col, [self.plain(v) for v in expr.values], negated=expr.negated)

    def _param_test(self, table: FromClause, expr: Comparison | InList | Like) -> Clause:
        c = table.c
        if isinstance(expr, Like):
            match = self._simple_test(c.value_text, expr, text=True)
            ranged = prefix_range(c.value_prefix, expr)
            if ranged is None or not numbers_cannot_match(expr):
                return match
            # Only rows without a number can match, so the (key, value_prefix) index range
            # holds every match: ``params.model like 'resnet%'`` need not read every row.
            if starts_with_only(expr.pattern):
                return and_(c.value_num.is_(None), ranged)
            return and_(c.value_num.is_(None), ranged, match)
        if isinstance(expr, Comparison):
            v = expr.value
            if isinstance(v, Boolean):
                test = compare(c.value_num, expr.op, self.plain(v), text=False)
                return and_(c.value_type == bound("bool"), test)
            if isinstance(v, String):
                prefixed = param_text_test(table, expr, [v.value])
                if prefixed is not None:
                    return prefixed
                return compare(c.value_text, expr.op, v.value, text=True)
            return compare(c.value_num, expr.op, self.plain(v), text=False)
        nums = [v.value for v in expr.values if isinstance(v, Number)]
        texts = [v.value for v in expr.values if isinstance(v, String)]
        bools = [1.0 if v.value else 0.0 for v in expr.values if isinstance(v, Boolean)]
        parts: list[Clause] = []
        if nums:
            parts.append(in_list(c.value_num, nums, negated=expr.negated))
        if texts:
            prefixed = param_text_test(table, expr, texts)
            if prefixed is None:
                prefixed = in_list(c.value_text, texts, negated=expr.negated)
            parts.append(prefixed)
        if bools:
            test = in_list(c.value_num, bools, negated=expr.negated)
            parts.append(and_(c.value_type == bound("bool"), test))
        if expr.negated:
            # x not in (a, b) == x != a and x != b: every member must be comparable.
            return and_(*parts)
        return or_(*parts)

    def _keyed(self, table: Table, key: str, test: Clause | None) -> Clause:
        """``experiments.id IN (SELECT experiment_id FROM table WHERE key = :key AND test)``."""
        return E.id.in_(_key_rows(key, *(() if test is None else (test,)), table=table))

    def _param_text_reads(
        self, key: str, expr: Comparison | InList | Like
    ) -> Select[Any] | CompoundSelect | None:
        """``!=``, ``not in`` (of text only) and ``like`` (with a pattern no number's text
        matches, see :func:`numbers_cannot_match`) on a param as index reads of the key's
        rows: those without a number through ``(key, value_prefix)`` (see
        :func:`text_rows`), those with one through ``(key, value_num)``. None for any
        other test.

        As one ``SELECT`` on ``key`` and the full text, such a test can use neither partial
        index and reads the whole params table (240 ms for ``params.p3 != 'a'`` at 100,000
        experiments against 36 ms).
        """
        c = params.c
        with_number = c.value_num.is_not(None)
        if isinstance(expr, Like):
            if not numbers_cannot_match(expr):
                # The text of every row with a number would be read from the table, one
                # lookup each: slower than reading the table in order (287 against 139 ms
                # for ``params.p0 like '0.12%'`` at 100,000 experiments).
                return None
            ranged = prefix_range(c.value_prefix, expr)
            if ranged is not None and starts_with_only(expr.pattern):
                texts = [_key_rows(key, c.value_num.is_(None), ranged)]
            else:
                texts = text_rows(params, key, self._text_test(expr), False)
            # No number's text matches, so a negated like holds for every one.
            return _union([*texts, _key_rows(key, with_number)] if expr.negated else texts)
        literals = _unequal_texts(expr)
        if literals is None:
            return None

        def differs(col: ColumnElement[Any]) -> Clause:
            if len(literals) == 1:
                return compare(col, Op.NE, literals[0], text=True)
            return in_list(col, literals, negated=True)

        texts = text_rows(params, key, differs, exact_on_prefix(expr, literals))
        nums = sorted({n for n in map(number_of_text, literals) if n is not None})
        if not nums:  # no number's text is any of them
            return _union([*texts, _key_rows(key, with_number)])
        return _union(
            [
                *texts,
                _key_rows(key, with_number, in_list(c.value_num, nums, negated=True)),
                _key_rows(key, in_list(c.value_num, nums, negated=False), differs(c.value_text)),
            ]
        )

    def _tag_text_reads(
        self, key: str, expr: Comparison | InList | Like
    ) -> Select[Any] | CompoundSelect | None:
        """A test on a tag other than equality, ``in`` and a literal-start ``like 'text%'``
        (which are index lookups already) as reads of the tag index (:func:`text_rows`), for
        conditions inside ``or``/``not``. None for those three.

        As one ``SELECT`` on ``key`` and the full text, it reads every row of the key from
        the table (74-127 ms at 100,000 experiments against 42-59 ms). A top-level condition
        stays a join (see ``mled.query.compiler``): there the planner can start from another,
        more selective condition, which an ``IN`` list read first would prevent (10.8 against
        110 ms for ``params.p3 in ('a', 'b') and tags.t1 != 'nlp' order by metrics.m1 desc``).
        """
        if isinstance(expr, Like):
            ranged = prefix_range(tags.c.value_prefix, expr)
            if ranged is not None and starts_with_only(expr.pattern):
                return None
            literals: list[str] = []
        elif isinstance(expr, Comparison):
            if expr.op is Op.EQ or not isinstance(expr.value, String):
                return None
            literals = [expr.value.value]
        else:
            if not expr.negated:
                return None
            literals = [v.value for v in expr.values if isinstance(v, String)]
        test = self._text_test(expr)
        return _union(text_rows(tags, key, test, exact_on_prefix(expr, literals)))

    def _text_test(self, expr: Comparison | InList | Like) -> Callable[[Any], Clause]:
        """The test of ``expr`` on any text column of a params or tags row (or of an alias),
        for :func:`text_rows`; a ``like`` with a literal start also bounds the row's prefix
        (:func:`prefix_range`), so that the index is read in that range only."""

        def test(col: Any) -> Clause:
            match = self._simple_test(col, expr, text=True)
            if not isinstance(expr, Like):
                return match
            ranged = prefix_range(col.table.c.value_prefix, expr)
            return match if ranged is None else and_(ranged, match)

        return test

    def _predicate(self, expr: Comparison | InList | Like) -> Clause:
        field = expr.field
        if isinstance(field, Param | Tag):
            if isinstance(field, Param):
                reads = self._param_text_reads(field.key, expr)
            else:
                reads = self._tag_text_reads(field.key, expr)
            if reads is not None:
                return E.id.in_(reads)
        if isinstance(field, Param | Metric | Tag):
            table = keyed_table(field)
            return self._keyed(table, field.key, self.row_test(table, expr))
        if isinstance(field, Dataset):
            col = dataset_column(field)
            test = self._simple_test(col, expr, text=field.attr != "version")
            return E.id.in_(dataset_inputs_select().where(test))
        return self._attribute(field, expr)

    def _attribute(self, field: Attribute, expr: Comparison | InList | Like) -> Clause:
        text = field.name not in TIME_OR_NUMBER_ATTRIBUTES
        if field.name == "project":
            sub = select(projects.c.id).where(self._simple_test(projects.c.name, expr, text=True))
            return E.project_id.in_(sub)
        if field.name == "owner":
            sub = select(users.c.id).where(self._simple_test(users.c.username, expr, text=True))
            return E.owner_id.in_(sub)
        col = attribute_column(field.name)
        test = self._simple_test(col, expr, text=text)
        if field.name in NULLABLE_ATTRIBUTES:
            return and_(col.is_not(None), test)
        return test

    def _is_null(self, expr: IsNull) -> Clause:
        field = expr.field
        present: Clause
        if isinstance(field, Param):
            present = E.id.in_(param_key_rows(field.key))
        elif isinstance(field, Metric | Tag):
            present = self._keyed(keyed_table(field), field.key, None)
        elif isinstance(field, Dataset):
            present = E.id.in_(select(dataset_inputs.c.experiment_id))
        elif field.name in NULLABLE_ATTRIBUTES:
            present = attribute_column(field.name).is_not(None)
        else:  # always set
            return true() if expr.negated else false()
        return present if expr.negated else not_(present)


def _unequal_texts(expr: Comparison | InList | Like) -> list[str] | None:
    """The literals of ``!= 'text'`` or ``not in ('text', ...)`` (text only), else None."""
    if isinstance(expr, Comparison) and expr.op is Op.NE and isinstance(expr.value, String):
        return [expr.value.value]
    if isinstance(expr, InList) and expr.negated and expr.values:
        texts = [v.value for v in expr.values if isinstance(v, String)]
        return texts if len(texts) == len(expr.values) else None
    return None


def _union(reads: list[Select[Any]]) -> Select[Any] | CompoundSelect:
    return reads[0] if len(reads) == 1 else union_all(*reads)


def compile_filter(expr: Expr | None, *, now: float) -> Clause | None:
    """Compile ``expr`` (None means no filter) into a clause over ``experiments``.

    Example:
        >>> from mled.query.parser import parse_filter
        >>> clause = compile_filter(parse_filter("params.lr < 0.01"), now=0.0)
        >>> "params.value_num <" in str(clause)
        True
    """
    return None if expr is None else ConditionCompiler(now).compile(expr)
