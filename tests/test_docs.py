"""The documentation covers every hook, command, page and module, and stays readable.

These read the Markdown and the sources, so they run with the test suite; the checks that
need the built site (formulas, the API reference, links) are in test_docs_site.py.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from pathlib import Path

import pytest
import typer

from nnframe.cli import app
from nnframe.core import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"


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


# -- code blocks fit the page ----------------------------------------------------------------

#: Characters of a code line that fit in a code block at a window width of 1280 px, where the
#: Material theme shows both sidebars: the block's text area is 656 px wide and its monospace
#: font (Roboto Mono, else the system's; both 0.6 em a character) is 0.85 x 0.8 rem = 13.6 px,
#: so 8.16 px a character: 80.4 characters. Measured in headless Chromium on the built site
#: (the clientWidth of every `pre > code`, less its padding, over the width of 200 x's):
#: 80.2. A longer line makes the reader scroll sideways to see its end.
CODE_LINE_CHARACTERS = 80

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def fenced_code_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of every line inside a fenced code block, its indent removed."""
    lines, fence, indent = [], None, ""
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence, indent = match["fence"], match["indent"]
        elif (match and match["fence"][0] == fence[0] and len(match["fence"]) >= len(fence)
              and not match["info"].strip()):
            fence = None
        else:
            lines.append((number, line[len(indent):] if line.startswith(indent) else line))
    return lines


def test_fenced_code_lines_are_found_with_their_indent_removed():
    text = "x\n```python\nab\n```\n- item\n\n    ```text\n    cd\n    ```\nafter\n"
    assert fenced_code_lines(text) == [(3, "ab"), (8, "cd")]


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_code_blocks_fit_the_page_at_1280_px(page):
    too_long = [f"docs/{page}:{number}: {len(line)} characters: {line}"
                for number, line in fenced_code_lines((DOCS / page).read_text())
                if len(line) > CODE_LINE_CHARACTERS]
    assert not too_long, (
        f"code lines longer than the {CODE_LINE_CHARACTERS} characters that fit at 1280 px "
        "(wrap or shorten them):\n" + "\n".join(too_long))


# -- the docs stand on their own ---------------------------------------------------------

#: A citation of the product specification, which readers never see.
SPECIFICATION = re.compile(r"\bSPEC\b")
#: A path outside the repository: the data folder beside the checkout, or a machine's own.
OUTSIDE_PATH = re.compile(r"\.\./shared\b|(?<![\w.~-])/(?:work|home|root|Users|mnt)/")

SOURCE_FOLDERS = ["nnframe", "plugins", "examples", "benchmarks", "tools", "tests"]
SKIPPED_FOLDERS = {".venv", ".nox", "build", "dist", "site", "__pycache__"}


def files_under(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern)
                  if not SKIPPED_FOLDERS & set(p.relative_to(ROOT).parts))


def reader_facing_files() -> list[Path]:
    """Pages, READMEs, the scaffold's templates and the examples: read whole."""
    files = [*DOCS.rglob("*.md"), ROOT / "README.md"]
    files += files_under(ROOT / "plugins", "README.md") + files_under(ROOT / "nnframe", "*.md")
    files += files_under(ROOT / "nnframe" / "testing" / "templates", "*.tmpl")
    files += [p for p in files_under(ROOT / "examples", "*") if p.suffix != ".py" and p.is_file()]
    return files


def python_files() -> list[Path]:
    files = [p for folder in SOURCE_FOLDERS for p in files_under(ROOT / folder, "*.py")]
    return files + sorted(ROOT.glob("*.py"))


def docstrings_and_comments(source: str) -> list[tuple[int, str]]:
    """(first line, text) of every docstring and every comment of a Python module."""
    texts = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                    and isinstance(body[0].value.value, str)):
                texts.append((body[0].lineno, body[0].value.value))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            texts.append((token.start[0], token.string))
    return texts


def citations(texts: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(line, line text) of each line of the texts that cites the specification or a path
    outside the repository."""
    found = []
    for first, text in texts:
        for offset, line in enumerate(text.splitlines()):
            if SPECIFICATION.search(line) or OUTSIDE_PATH.search(line):
                found.append((first + offset, line.strip()))
    return found


def test_citations_are_found_in_docstrings_and_comments():
    source = '"""Model files (' + 'SPEC 6)."""\n\n\ndef f():\n    """One.\n\n    Two: ' + \
        'NNFRAME_DATA_DIR=..' + '/shared/data."""\n    return 1  # fine\n'
    assert [line for line, _ in citations(docstrings_and_comments(source))] == [1, 7]
    assert citations([(1, "the specified path /usr/share/x, shared data")]) == []


def test_no_page_or_readme_cites_the_specification_or_an_outside_path():
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for path in reader_facing_files()
             for line, text in citations([(1, path.read_text())])]
    assert not found, ("readers never see the specification or this machine's folders; say "
                       "what is meant instead:\n" + "\n".join(found))


def test_no_docstring_or_comment_cites_the_specification_or_an_outside_path():
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for path in python_files()
             for line, text in citations(docstrings_and_comments(path.read_text()))]
    assert not found, ("docstrings end up in the API reference and in help(); say what is "
                       "meant instead:\n" + "\n".join(found))


# -- every page can be found, and the architecture page stays true ---------------------------


def nav_pages() -> list[str]:
    return re.findall(r"[\w./-]+\.md", MKDOCS.read_text())


def test_the_home_page_links_every_page_of_the_guide():
    home = (DOCS / "index.md").read_text()
    linked = set(re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", home))
    missing = [page for page in nav_pages() if page != "index.md" and page not in linked]
    assert not missing, f"docs/index.md's 'Where to go next' does not link {missing}"


def module_table_entries() -> list[str]:
    """Paths from the repository root named in the first column of the module table of
    docs/architecture.md. A bare name after the first one of a cell is beside it:
    "`nnframe/modelfile/npz.py`, `atomic.py`" names nnframe/modelfile/npz.py and
    nnframe/modelfile/atomic.py."""
    page = (DOCS / "architecture.md").read_text()
    table = page.split("## The modules", 1)[1].split("\n## ", 1)[0]
    entries = []
    for row in re.findall(r"^\| *(`[^|]*?) *\|", table, re.MULTILINE):
        names = re.findall(r"`([^`]+)`", row)
        base = names[0].rstrip("/").rpartition("/")[0]
        entries += [names[0]] + [f"{base}/{name}" if base else name for name in names[1:]]
    return [entry.rstrip("/") for entry in entries]


def nnframe_modules() -> list[str]:
    """Every public module and every package directly in nnframe/."""
    package = ROOT / "nnframe"
    modules = [f"nnframe/{p.name}" for p in package.glob("*.py") if not p.name.startswith("_")]
    packages = [f"nnframe/{p.parent.name}" for p in package.glob("*/__init__.py")]
    return sorted(modules + packages)


def test_the_module_table_is_read_as_paths():
    entries = module_table_entries()
    assert {"nnframe/_version.py", "nnframe/losses", "nnframe/core/contracts",
            "pytest_nnframe.py"} <= set(entries)


def test_the_architecture_page_lists_every_module_of_nnframe():
    missing = sorted(set(nnframe_modules()) - set(module_table_entries()))
    assert not missing, f"docs/architecture.md's module table does not describe {missing}"


def test_every_module_the_architecture_page_lists_exists():
    gone = [entry for entry in module_table_entries() if not (ROOT / entry).exists()]
    assert not gone, f"docs/architecture.md's module table names modules that are gone: {gone}"


def test_no_page_holds_a_merge_conflict_marker():
    """A conflict left in a page renders as text and can hide a half of it."""
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in reader_facing_files()
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if line.startswith(("<<<<<<< ", ">>>>>>> ")) or line == "======="]
    assert not found, f"merge conflict markers in {found}"
