"""MLED's query language: text -> typed AST -> SQLAlchemy ``SELECT`` (or Python evaluation).

One language everywhere (SDK, CLI, REST, UI filter bar), a superset of MLflow's filter syntax.
See ``docs/query-language.md`` for the grammar and the semantics.

Example:
    >>> from mled.query import compile_search, parse_query
    >>> query = parse_query("metrics.acc > 0.9 and params.opt = 'adam' order by created desc")
    >>> search = compile_search(query, project_ids=[1], limit=50)
    >>> search.page_size
    50

Submodules are imported lazily, so ``import mled.query`` costs nothing until a name is used
(the compiler pulls in SQLAlchemy, the parser pulls in lark).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mled.query.ast import Query
    from mled.query.compiler import CompiledSearch, compile_search
    from mled.query.conditions import compile_filter
    from mled.query.evaluate import evaluate, sort_experiments
    from mled.query.parser import parse_filter, parse_order_by, parse_query
    from mled.query.render import to_text

_EXPORTS = {
    "Query": "mled.query.ast",
    "CompiledSearch": "mled.query.compiler",
    "compile_search": "mled.query.compiler",
    "compile_filter": "mled.query.conditions",
    "evaluate": "mled.query.evaluate",
    "sort_experiments": "mled.query.evaluate",
    "parse_filter": "mled.query.parser",
    "parse_order_by": "mled.query.parser",
    "parse_query": "mled.query.parser",
    "to_text": "mled.query.render",
}

__all__ = [
    "CompiledSearch",
    "Query",
    "compile_filter",
    "compile_search",
    "evaluate",
    "parse_filter",
    "parse_order_by",
    "parse_query",
    "sort_experiments",
    "to_text",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mled.query' has no attribute {name!r}")
    return getattr(import_module(module), name)
