"""The documentation covers every hook and every command, and its navigation every page."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import typer

from nnframe import hookspecs
from nnframe.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs"
MKDOCS = DOCS.parent / "mkdocs.yml"


def hook_specifications() -> list[str]:
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return [f"{name}({', '.join(inspect.signature(function).parameters)})"
            for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(function, marker)]


def command_paths(command=None, prefix: str = "") -> list[str]:
    """Every command of the Typer app, groups walked: ``["check", "list", ...]``."""
    command = command or typer.main.get_command(app)
    paths = []
    for name, sub in getattr(command, "commands", {}).items():
        path = f"{prefix}{name}"
        paths.append(path)
        paths += command_paths(sub, f"{path} ")
    return paths


def test_the_walks_find_something():
    assert {"register_layers(register)", "register_optimizers(register)"} <= set(
        hook_specifications())
    assert {"list", "plugins", "check", "new-plugin"} <= set(command_paths())


@pytest.mark.parametrize("signature", hook_specifications())
def test_every_hook_specification_is_documented(signature):
    assert f"`{signature}`" in (DOCS / "writing-plugins.md").read_text(), (
        f"docs/writing-plugins.md does not describe the hook `{signature}`")


@pytest.mark.parametrize("path", command_paths())
def test_every_command_has_a_section_in_the_cli_reference(path):
    headings = [line for line in (DOCS / "cli.md").read_text().splitlines()
                if line.startswith("#")]
    assert any(f"`nnframe {path}`" in line for line in headings), (
        f"docs/cli.md has no section headed `nnframe {path}`")


def test_every_page_is_in_the_navigation_and_every_entry_exists():
    in_nav = set(re.findall(r"[\w./-]+\.md", MKDOCS.read_text()))
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages - in_nav == set(), "pages missing from the nav in mkdocs.yml"
    assert in_nav - pages == set(), "nav entries in mkdocs.yml without a page"


def test_getting_started_shows_the_readme_quickstart():
    """The two Quickstart commands are the same in the README and on the site."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text()
    block = readme.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.strip() for line in block.strip().splitlines()]
    assert len(commands) == 2
    page = (root / "docs" / "getting-started.md").read_text()
    for command in commands:
        assert command in page, command
