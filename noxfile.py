"""Sessions: ``nox -s tests`` (the README's test command), ``lint``, ``docs``, and later ``bench``.

The tests session installs nnframe, every plugin distribution under plugins/ and the test
plugin under tests/plugin_dist/ into its own virtualenv, as a user would with pip.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
SHARED_DATA = ROOT.parent / "shared" / "data"

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


def plugin_distributions() -> list[str]:
    """Every separately installable plugin: plugins/* and the end-to-end test plugin."""
    folders = sorted(ROOT.glob("plugins/*/pyproject.toml"))
    folders += sorted(ROOT.glob("tests/plugin_dist/*/pyproject.toml"))
    return [str(p.parent) for p in folders]


def data_env() -> dict[str, str]:
    """Point the tests at the real MNIST files when they are beside the checkout."""
    if "NNFRAME_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        return {"NNFRAME_DATA_DIR": str(SHARED_DATA)}
    return {}


@nox.session
def tests(session: nox.Session) -> None:
    """Install nnframe and its plugins, then run the whole test suite."""
    session.install(".[test]", *plugin_distributions())
    session.run("pytest", *(session.posargs or ["-q"]), env=data_env())


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the whole project."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/; any warning fails the build (--strict)."""
    session.install(".[docs]")
    session.run("mkdocs", "build", "--strict", *session.posargs,
                env={"NO_MKDOCS_2_WARNING": "1"})
