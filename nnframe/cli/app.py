"""The Typer application every command registers on, and the one-line error helper.

Command modules import `app` and `fail` from here, never from the package, so that the
package's ``__init__`` only has to import them (in the order ``--help`` lists them).
"""

from __future__ import annotations

from typing import Annotated

import typer

from nnframe._version import __version__

app = typer.Typer(
    name="nnframe",
    help="nnframe: neural networks on NumPy, where every layer, loss and optimizer is a plugin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def fail(message: str, status: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the `typer.Exit` to raise."""
    typer.echo(f"nnframe: error: {message}", err=True)
    return typer.Exit(status)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nnframe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True, help="Show the version and exit.",
    )] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """nnframe: neural networks on NumPy, where every layer, loss and optimizer is a plugin."""
