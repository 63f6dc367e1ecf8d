"""The ``nnframe`` command line (Typer). Each command group lives in its own module.

Errors a user can cause (`NNFrameError`, bad usage) print one line on stderr and exit 2;
anything else is a bug and exits 1. ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys

import typer

# Each module registers its commands on `app`, in the order --help lists them.
from nnframe.cli import check, components, export, models, scaffold, show, train, tune
from nnframe.cli.app import app, fail

__all__ = ["app", "check", "components", "export", "fail", "main", "models", "scaffold", "show",
           "train", "tune"]


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
        if _is_exit(exc):
            sys.exit(exc.exit_code)
        if _is_usage_error(exc):  # click's (or Typer's vendored click's) usage errors
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


def _is_exit(exc: Exception) -> bool:
    return type(exc).__name__ == "Exit" and isinstance(getattr(exc, "exit_code", None), int)


def _is_usage_error(exc: Exception) -> bool:
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)
