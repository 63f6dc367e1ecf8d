"""``nnframe new-plugin``: scaffold a plugin distribution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnframe.cli.app import app


@app.command("new-plugin")
def new_plugin(
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
