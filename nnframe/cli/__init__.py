"""The ``nnframe`` command line (Typer), built from one table of its commands.

`COMMANDS` maps each command's name to the function that implements it, in the order
``nnframe --help`` lists them; `build_app` makes the Typer application from it, and `app`
is that application. The command modules only define functions (importing one registers
nothing), and each function imports what its command needs when it runs, so that
``nnframe --help`` imports no plugin and no training machinery.

Errors a user can cause (`NNFrameError`, bad usage) print one line on stderr and exit 2;
anything else is a bug and exits 1. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from nnframe._version import __version__
from nnframe.cli import components, kit, models, train
from nnframe.cli.errors import fail, is_exit, is_usage_error

__all__ = ["COMMANDS", "app", "build_app", "fail", "main"]

HELP = "nnframe: neural networks on NumPy, where every layer, loss and optimizer is a plugin."

#: Every command: its name -> the function that implements it (whose docstring is its help),
#: in the order ``nnframe --help`` lists them.
COMMANDS: dict[str, Callable[..., None]] = {
    "check": kit.check_command,
    "list": components.list_components,
    "plugins": components.list_plugins,
    "export": models.export_command,
    "evaluate": models.evaluate_command,
    "predict": models.predict_command,
    "summary": models.summary_command,
    "new-plugin": kit.new_plugin_command,
    "show": components.show_command,
    "train": train.train_command,
    "tune": train.tune_command,
}


def build_app() -> typer.Typer:
    """A new Typer application with the global options and every command of `COMMANDS`."""
    application = typer.Typer(name="nnframe", help=HELP, no_args_is_help=True,
                              add_completion=False, pretty_exceptions_enable=False,
                              rich_markup_mode=None)
    application.callback()(_root)
    for name, function in COMMANDS.items():
        application.command(name)(function)
    return application


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"nnframe {__version__}")
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version_callback, is_eager=True, help="Show the version and exit.",
    )] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """nnframe: neural networks on NumPy, where every layer, loss and optimizer is a plugin."""


app = build_app()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m nnframe``."""
    from nnframe.errors import NNFrameError

    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        args = ["--help"]
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        status = command.main(args=args, prog_name="nnframe", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("nnframe: interrupted", err=True)
        sys.exit(130)
    except NNFrameError as exc:
        if debug:
            raise
        typer.echo(f"nnframe: error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        if is_exit(exc):
            sys.exit(exc.exit_code)
        if is_usage_error(exc):  # click's (or Typer's vendored click's) usage errors
            if debug:
                raise
            ctx = getattr(exc, "ctx", None)
            path = ctx.command_path if ctx is not None else "nnframe"
            typer.echo(f"nnframe: error: {exc.format_message()} (see `{path} --help`)", err=True)
            sys.exit(exc.exit_code or 2)
        if debug:
            raise
        typer.echo(f"nnframe: internal error: {type(exc).__name__}: {exc} "
                   "(rerun with --debug for the traceback, and please report it)", err=True)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
