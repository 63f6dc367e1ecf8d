"""How the command line reports what went wrong: one line on stderr and an exit status
(2 for a user's mistake), and which exceptions are click's own exits and usage errors."""

from __future__ import annotations

import typer


def fail(message: str, status: int = 2) -> typer.Exit:
    """Print one error line on stderr and return the `typer.Exit` to raise."""
    typer.echo(f"nnframe: error: {message}", err=True)
    return typer.Exit(status)


def is_exit(exc: Exception) -> bool:
    return type(exc).__name__ == "Exit" and isinstance(getattr(exc, "exit_code", None), int)


def is_usage_error(exc: Exception) -> bool:
    return hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)
