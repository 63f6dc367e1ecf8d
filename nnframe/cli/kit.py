"""``nnframe check`` and ``nnframe new-plugin``: the plugin author's kit on the command line.

``check`` runs the kit's checks on registered components; ``new-plugin`` writes a plugin
distribution that passes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def check_command(
    names: Annotated[list[str] | None, typer.Argument(
        help="Components (dense, nnframe-conv:conv2d) or distributions (nnframe-conv).",
        metavar="NAME", show_default=False)] = None,
    check_all: Annotated[bool, typer.Option(
        "--all", help="Check every registered component.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Check components against their contracts: gradients, shapes, dtype, config, state.

    Exits 1 when any property fails (or a plugin failed to load).
    """
    from nnframe.cli.errors import fail
    from nnframe.cli.selection import select
    from nnframe.testing import check_component

    if bool(names) == check_all:
        raise fail("give component or distribution names, or --all (not both)")
    components, problems = select(names or [], check_all)
    reports = [check_component(component, raises=False) for component in components]
    passed = not problems and all(report.passed for report in reports)
    if as_json:
        typer.echo(json.dumps({
            "passed": passed,
            "components": [report.as_dict() for report in reports],
            "plugin_errors": problems,
        }, indent=2))
    else:
        _print_table(reports, problems)
    if not passed:
        raise typer.Exit(1)


def new_plugin_command(
    name: Annotated[str, typer.Argument(
        help="Distribution name, e.g. nnframe-swish (the package is nnframe_swish).",
        metavar="NAME", show_default=False)],
    directory: Annotated[Path, typer.Option(
        "--dir", metavar="DIR", help="Where to create the NAME folder.")] = Path("."),
) -> None:
    """Create a plugin distribution with an example layer, loss and optimizer, its tests
    and a README; it installs with pip and passes its tests and `nnframe check` as is."""
    from nnframe.testing.scaffold import new_plugin as scaffold

    target = scaffold(name, directory)
    shown = str(target) if target.is_absolute() else f"./{target}"  # a path to pip, not a name
    typer.echo(f"Created {shown}/ (an example layer, loss and optimizer). Next:\n"
               f"  pip install -e '{shown}[test]'\n"
               f"  pytest {shown}\n"
               f"  nnframe check {name}")


def _print_table(reports, problems) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    table.add_column("component", no_wrap=True)
    table.add_column("property", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("details", overflow="fold")
    for report in reports:
        for index, result in enumerate(report.properties):
            if result.passed:
                verdict = "ok"
                details = _passed_details(result)
            else:
                verdict, details = "[red]FAIL[/red]", escape(result.detail)
            table.add_row(f"{report.kind} {report.component}" if index == 0 else "",
                          result.name, verdict, details)
    for problem in problems:
        table.add_row("plugin", "load", "[red]FAIL[/red]", escape(problem))
    console = Console()
    if not console.is_terminal:  # piped or captured: no terminal width to fit
        console = Console(width=160)
    console.print(table)
    failed = sum(not report.passed for report in reports)
    console.print(f"{len(reports)} components checked: {len(reports) - failed} passed, "
                  f"{failed} failed" + (f"; {len(problems)} plugin errors" if problems else ""))


def _passed_details(result) -> str:
    """A gradient's margin (its worst element's share of the tolerance), another
    comparison's error, or nothing."""
    if result.name.startswith("gradient"):
        from rich.markup import escape

        return escape(result.detail)
    return "" if result.error is None else f"error {result.error:.1e}"
