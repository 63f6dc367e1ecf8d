"""``nnframe list``, ``plugins`` and ``show``: what the registry holds and who provided it."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated, Any

import typer

from nnframe.core.kinds import KINDS

#: ``nnframe list layers``, ``nnframe list metrics``, ...: one choice per kind.
KindChoice = Enum("KindChoice", {kind.plural: kind.plural for kind in KINDS}, type=str)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def list_components(
    kind: Annotated[KindChoice | None, typer.Argument(
        help="Only this kind: " + ", ".join(k.plural for k in KINDS) + ".",
        show_choices=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """List the registered components of every kind, with their providers."""
    from nnframe.core.kinds import kind as kind_named
    from nnframe.core.registry import get_registry

    components = get_registry().components(kind_named(kind.value).name if kind else None)
    rows = [
        {
            "kind": c.kind,
            "name": c.name,
            "plugin": c.plugin,
            "distribution": c.distribution,
            "version": c.version,
            "summary": c.summary,
        }
        for c in components
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    print_table(["kind", "name", "plugin", "distribution", "version", "summary"],
                [[str(row[k] or "") for k in row] for row in rows])


def list_plugins(
    as_json: JsonOption = False,
) -> None:
    """List the plugins (the built-in one included), their hooks and their status."""
    from nnframe.core.registry import get_registry

    rows = [plugin.as_dict() for plugin in get_registry().plugins()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    print_table(["name", "distribution", "version", "hooks", "status", "error"], [
        [f"{row['name']} (built-in)" if row["builtin"] else row["name"],
         row["distribution"], row["version"] or "", ", ".join(row["hooks"]), row["status"],
         row["error"] or ""]
        for row in rows
    ])


def show_command(
    name: Annotated[str, typer.Argument(
        help="A registered component of any kind, bare (dense) or qualified "
        "(nnframe:dense).", metavar="NAME")],
) -> None:
    """Describe a registered component: what it does, its arguments and who provides it."""
    from nnframe.cli.describe import describe_component

    for line in describe_component(name):
        typer.echo(line)


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A table that never cuts a name: on a terminal, rich fits it to the width and folds
    only the last column; piped, plain columns as wide as their longest cell."""
    import sys

    if sys.stdout.isatty():
        _rich_table(header, rows)
        return
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths[:-1], strict=True)]
        typer.echo("  ".join([*cells, row[-1]]).rstrip())


def _rich_table(header: list[str], rows: list[list[str]]) -> Any:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for index, name in enumerate(header):
        last = index == len(header) - 1
        table.add_column(name, no_wrap=not last, overflow="fold" if last else "ignore")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    Console().print(table)
