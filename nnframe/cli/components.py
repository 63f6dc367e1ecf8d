"""``nnframe list`` and ``nnframe plugins``: what the registry holds and who provided it."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer

from nnframe.cli import app


class KindChoice(str, Enum):
    layers = "layers"
    losses = "losses"
    optimizers = "optimizers"


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

_KIND_OF = {"layers": "layer", "losses": "loss", "optimizers": "optimizer"}


@app.command("list")
def list_components(
    kind: Annotated[KindChoice | None, typer.Argument(help="Only this kind.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the registered layers, losses and optimizers, with their providers."""
    from nnframe.registry import get_registry

    registry = get_registry()
    components = registry.components(_KIND_OF[kind.value] if kind else None)
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
    from rich.console import Console
    from rich.table import Table

    table = Table("kind", "name", "plugin", "distribution", "version", "summary",
                  box=None, header_style="bold")
    for row in rows:
        table.add_row(*(str(row[k] or "") for k in row))
    Console().print(table)


@app.command("plugins")
def list_plugins(
    as_json: JsonOption = False,
) -> None:
    """List the plugins (the built-in one included), their hooks and their status."""
    from nnframe.registry import get_registry

    rows = [plugin.as_dict() for plugin in get_registry().plugins()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "distribution", "version", "hooks", "status", "error",
                  box=None, header_style="bold")
    for row in rows:
        status = "ok" if row["status"] == "ok" else "[red]error[/red]"
        name = f"{row['name']} (built-in)" if row["builtin"] else row["name"]
        table.add_row(name, row["distribution"], row["version"] or "",
                      ", ".join(row["hooks"]), status, row["error"] or "")
    Console().print(table)
