"""``mled lineage``: where a model version or dataset version came from and what used it.

Example:
    $ mled lineage resnet@production
    model resnet:3 @production
    └── registered from experiment 0190c7e2-... (train, finished)  commit 1a2b3c4
        └── used as train: dataset cifar10:2
    $ mled lineage cifar10:2 --json
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text
from rich.tree import Tree

from mled.artifacts.entities import LineageNode
from mled.cli.context import CommandContext, DebugOption, JsonOption, StoreOption

STYLES = {"model_version": "bold magenta", "dataset_version": "bold cyan", "experiment": "bold"}


def build() -> typer.Typer:
    """``lineage`` as a standalone app (``mled lineage REF`` once registered)."""
    app = typer.Typer(help="Show the lineage of a model, dataset or experiment.")
    app.command("lineage")(lineage)
    return app


def lineage(
    ctx: typer.Context,
    ref: Annotated[
        str,
        typer.Argument(
            metavar="REF",
            help="MODEL@ALIAS, MODEL:VERSION, DATASET:VERSION or an experiment ID "
            "(prefix with model:, dataset: or experiment: when a name is ambiguous).",
        ),
    ],
    store: StoreOption = None,
    as_json: JsonOption = False,
    debug: DebugOption = False,
) -> None:
    """Print the lineage tree of a model version, dataset version or experiment.

    A model version leads to the experiment it was registered from, with its code version
    (git commit) and the dataset versions it used; a dataset version leads to every
    experiment that used it and every model registered from those.

    Example: mled lineage resnet@production
    """
    cli = CommandContext.create(ctx, store, as_json, debug)
    with cli.session() as client:
        root = client.lineage(ref)
        cli.emit(node_dict(root), lambda out: out.print(render_tree(root)))


def node_dict(node: LineageNode) -> dict[str, Any]:
    """The JSON object of a lineage node and, recursively, its children."""
    return {
        "kind": node.kind,
        "ref": node.ref,
        "relation": node.relation or None,
        "details": node.details,
        "children": [node_dict(c) for c in node.children],
    }


def render_tree(root: LineageNode) -> Tree:
    """A Rich tree: each node on one line, its relation to its parent first.

    Example:
        >>> from rich.console import Console
        >>> node = LineageNode("dataset_version", "cifar10:2", "dataset cifar10:2")
        >>> Console(width=60).print(render_tree(node))
        dataset cifar10:2
    """
    tree = Tree(_line(root))
    _add(tree, root.children)
    return tree


def _add(tree: Tree, children: list[LineageNode]) -> None:
    for child in children:
        _add(tree.add(_line(child)), child.children)


def _line(node: LineageNode) -> Text:
    text = Text()
    if node.relation:
        text.append(f"{node.relation}: ", style="dim")
    text.append(node.label, style=STYLES.get(node.kind, ""))
    code = node.details.get("code") if node.kind == "experiment" else None
    if isinstance(code, dict) and code.get("commit"):
        dirty = " (dirty)" if code.get("dirty") else ""
        text.append(f"  commit {str(code['commit'])[:12]}{dirty}", style="green")
    files = node.details.get("files") if node.kind == "dataset_version" else None
    if files == 0:
        text.append(f"  source only: {node.details.get('source')}", style="dim")
    elif files is not None:
        stored = "stored" if node.details.get("stored") else "not stored"
        text.append(f"  {files} files, {stored}", style="dim")
    return text
