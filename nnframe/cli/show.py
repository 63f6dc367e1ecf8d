"""``nnframe show NAME``: one component's summary, parameters with defaults, and provider."""

from __future__ import annotations

from typing import Annotated

import typer

from nnframe.cli.app import app


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(
        help="A registered component of any kind, bare (dense) or qualified "
        "(nnframe:dense).", metavar="NAME")],
) -> None:
    """Describe a registered component: what it does, its arguments and who provides it."""
    from nnframe.cli.describe import describe_component

    for line in describe_component(name):
        typer.echo(line)
