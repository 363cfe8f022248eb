"""Rendering results: Rich tables for people, JSON for scripts, and the formatting of values.

Every user-supplied string is wrapped in :class:`rich.text.Text`, so names and tags that look
like Rich markup (``[red]``) are printed as they are.

Example:
    >>> duration_text(3725.0)
    '1h 02m'
    >>> number_text(0.912345678), number_text(12.0), number_text(float("nan"))
    ('0.91235', '12', 'nan')
    >>> jsonable({"loss": float("inf")})
    {'loss': 'Infinity'}
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from typing import Any

import typer
from rich import box
from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

SHORT_ID_LENGTH = 13
"""Characters of an ID shown in tables: ``0190c7e2-4b1a`` covers the full millisecond
timestamp of a UUIDv7; more are shown when two listed IDs share that prefix."""

STATUS_STYLES = {
    "running": "bold cyan",
    "finished": "green",
    "failed": "bold red",
    "killed": "yellow",
}

NONE_TEXT = "-"


PIPE_WIDTH = 240
"""Line width when stdout is not a terminal (and $COLUMNS is unset): tables piped to a file
or to grep keep one line per row instead of wrapping at 80 characters."""


def stdout_console() -> Console:
    """A console on stdout that does not guess highlighting in plain values."""
    console = Console(highlight=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = PIPE_WIDTH
    return console


def print_json(data: Any) -> None:
    """Print ``data`` as strict JSON (NaN and infinities become strings), two-space indented.

    Example:
        >>> print_json({"id": "0190", "value": float("nan")})
        {
          "id": "0190",
          "value": "NaN"
        }
    """
    typer.echo(json.dumps(jsonable(data), indent=2, ensure_ascii=False, allow_nan=False))


def jsonable(value: Any) -> Any:
    """Convert dataclasses, datetimes and non-finite floats into plain JSON values.

    Datetimes become ISO 8601 strings with their UTC offset; NaN and infinities become
    ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (as in the audit log's canonical JSON).

    Example:
        >>> from datetime import UTC, datetime
        >>> jsonable([datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), float("-inf"), (1, 2)])
        ['2026-01-02T03:04:05+00:00', '-Infinity', [1, 2]]
    """
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def local_time(value: datetime | None, *, seconds: bool = True) -> str:
    """A timestamp in the local time zone: ``2026-11-26 07:20:31`` (or ``2026-11-26 07:20``)."""
    if value is None:
        return NONE_TEXT
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def duration_text(seconds: float | None) -> str:
    """A duration in the two largest units that matter.

    Example:
        >>> [duration_text(s) for s in (0.25, 42, 125, 90061, None)]
        ['0.2s', '42s', '2m 05s', '1d 01h', '-']
    """
    if seconds is None:
        return NONE_TEXT
    if round(seconds, 1) < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def number_text(value: float | int | None) -> str:
    """A metric value in at most five significant digits; integers stay whole.

    Example:
        >>> number_text(1234567.0), number_text(1e-7), number_text(None)
        ('1234567', '1e-07', '-')
    """
    if value is None:
        return NONE_TEXT
    if isinstance(value, int):  # bool included: True is shown as 1, as it is stored
        return str(int(value))
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.5g}"


def value_text(value: Any) -> str:
    """A param or seed value as it would be typed: strings bare, others as JSON.

    Example:
        >>> value_text("adam"), value_text(0.001), value_text(True), value_text([1, 2])
        ('adam', '0.001', 'true', '[1, 2]')
    """
    if value is None:
        return NONE_TEXT
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else number_text(value)
    return json.dumps(jsonable(value), ensure_ascii=False)


def short_ids(ids: Iterable[str], min_length: int = SHORT_ID_LENGTH) -> dict[str, str]:
    """The shortest prefix of each ID (at least ``min_length``) that no other listed ID shares.

    A prefix never ends with a hyphen.

    Example:
        >>> ids = ["0190c7e2-4b1a-7000-8000-000000000001", "0190c7e2-4b1a-7001-8000-000000000002"]
        >>> list(short_ids(ids).values())
        ['0190c7e2-4b1a-7000', '0190c7e2-4b1a-7001']
        >>> list(short_ids(["0190c7e2-4b1a-7000-8000-000000000001"]).values())
        ['0190c7e2-4b1a']
    """
    ordered = sorted(set(ids))
    out: dict[str, str] = {}
    for i, full in enumerate(ordered):
        need = min_length
        for j in (i - 1, i + 1):
            if 0 <= j < len(ordered):
                need = max(need, _common_prefix_length(full, ordered[j]) + 1)
        prefix = full[:need]
        if prefix.endswith("-"):
            prefix = full[: need + 1]
        out[full] = prefix
    return out


def _common_prefix_length(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def status_text(status: str) -> Text:
    """The status word in its color (finished green, failed red, running cyan, killed yellow)."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def cell(value: object, style: str = "") -> Text:
    """A table cell showing ``value`` literally (no markup), ``-`` for None or empty."""
    if isinstance(value, Text):
        return value
    text = NONE_TEXT if value is None or value == "" else str(value)
    return Text(text, style=style)


def data_table(*columns: str, fixed: Sequence[str] = ()) -> Table:
    """A table with a bold header and no vertical rules, for lists of objects.

    Columns named in ``fixed`` never wrap (IDs, times, numbers); when the terminal is too
    narrow the other columns wrap first.
    """
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for name in columns:
        if name in fixed:
            table.add_column(name, no_wrap=True)
        else:
            table.add_column(name, overflow="ellipsis")
    return table


UNLIMITED_WIDTH = 100_000
"""Width at which a table is measured to learn how wide it would like to be."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a :func:`fitted_table`: its header, whether it may wrap, its alignment."""

    header: str
    fixed: bool = False
    justify: JustifyMethod = "left"
    style: str = ""


def fitted_table(
    console: Console,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Text]],
    drop_order: Sequence[str] = (),
) -> Table:
    """A table that fits ``console``: columns named in ``drop_order`` are left out, in that
    order, while the table is wider than the console.

    Example:
        >>> table = fitted_table(Console(width=20), [Column("id", fixed=True), Column("owner")],
        ...                      [[Text("0190c7e2-4b1a"), Text("alice")]], drop_order=["owner"])
        >>> [c.header for c in table.columns]
        ['id']
    """
    rows = [list(row) for row in rows]
    keep = list(range(len(columns)))
    droppable = [i for name in drop_order for i, c in enumerate(columns) if c.header == name]
    while True:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for i in keep:
            c = columns[i]
            table.add_column(
                c.header,
                justify=c.justify,
                style=c.style,
                no_wrap=c.fixed,
                overflow="ellipsis",
            )
        for row in rows:
            table.add_row(*(row[i] for i in keep))
        unlimited = console.options.update_width(UNLIMITED_WIDTH)
        if not droppable or console.measure(table, options=unlimited).maximum <= console.width:
            return table
        keep.remove(droppable.pop(0))


def details_grid(rows: Sequence[tuple[str, object]]) -> Table:
    """A two-column ``label  value`` grid; rows whose value is None are left out."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows:
        if value is not None:
            grid.add_row(Text(label), cell(value))
    return grid


def heading(text: str) -> Text:
    """A section heading of a details view."""
    return Text(f"\n{text}", style="bold underline")


def note(text: str) -> Text:
    """A dim remark, such as an empty-list message."""
    return Text(text, style="dim")
