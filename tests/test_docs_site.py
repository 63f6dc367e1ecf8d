"""The built documentation site: formulas as MathML, no script from the network, an API
reference that documents the whole public API, and links that work under the site's path.

``nox -s docs`` builds the site and runs these on it (``NNFRAME_DOCS_SITE`` names the
folder). Elsewhere they build the site themselves when MkDocs is installed (the ``docs``
extra); without it, the module is skipped.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import pytest

import nnframe
from nnframe.core import hookspecs
from nnframe.core.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

if not os.environ.get("NNFRAME_DOCS_SITE"):
    pytest.importorskip("mkdocs", reason="building the site needs the docs extra "
                                         "(nox -s docs runs these tests)")


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The built site: ``$NNFRAME_DOCS_SITE``, else a fresh ``mkdocs build --strict``."""
    if os.environ.get("NNFRAME_DOCS_SITE"):
        folder = Path(os.environ["NNFRAME_DOCS_SITE"])
        assert (folder / "index.html").is_file(), f"NNFRAME_DOCS_SITE={folder} holds no site"
        return folder
    folder = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir",
         str(folder)], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr}"
    return folder


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


class Elements(HTMLParser):
    """The start tags of a page with their attributes, and the text of its headings."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[str] = []
        self._heading: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append("".join(self._heading))
            self._heading = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading.append(data)


# -- formulas --------------------------------------------------------------------------------


def tex_formulas(markdown: str) -> list[str]:
    """The \\( \\) and \\[ \\] formulas of a page, outside code."""
    prose = re.sub(r"^```.*?^```", "", markdown, flags=re.DOTALL | re.MULTILINE)
    prose = re.sub(r"`[^`]*`", "", prose)
    return re.findall(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", prose, flags=re.DOTALL)


def test_the_tutorial_formulas_are_mathml(site):
    formulas = tex_formulas((DOCS / "tutorial.md").read_text())
    html = (site / "tutorial" / "index.html").read_text()
    assert len(formulas) > 50
    assert html.count("<math ") == len(formulas), "a formula was not turned into MathML"
    assert "<merror" not in html


def test_no_page_is_left_with_tex_for_a_script_to_render(site):
    left = [str(page.relative_to(site)) for page in pages(site)
            if re.search(r'class="arithmatex">\s*\\[(\[]', page.read_text())]
    assert not left, f"pages with formulas still in TeX: {left}"


def test_no_page_loads_a_script_from_the_network(site):
    remote = sorted({f"{page.relative_to(site)}: {attrs['src']}"
                     for page in pages(site)
                     for tag, attrs in Elements(page.read_text()).tags
                     if tag == "script" and re.match(r"(https?:)?//", attrs.get("src") or "")})
    assert not remote, "the site must work offline:\n" + "\n".join(remote)


# -- links under the site's path -------------------------------------------------------------


def site_path() -> str:
    url = re.search(r"^site_url:\s*(\S+)", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert url, "mkdocs.yml sets no site_url: the sitemap is empty and the 404 page breaks"
    return re.sub(r"^https?://[^/]+", "", url[1])


def test_the_404_page_links_its_assets_under_the_site_path(site):
    """A 404 page is served at any depth, so its links must not be relative."""
    prefix = site_path()
    links = [attrs.get("href") or attrs.get("src")
             for tag, attrs in Elements((site / "404.html").read_text()).tags
             if tag in ("link", "script", "img", "a")]
    local = [link for link in links if link and not re.match(r"(https?:)?//|#|mailto:", link)]
    assert local
    assert all(link.startswith(prefix) for link in local), [
        link for link in local if not link.startswith(prefix)]


def test_the_sitemap_lists_every_page(site):
    sitemap = (site / "sitemap.xml").read_text()
    for page in re.findall(r"[\w./-]+\.md", (ROOT / "mkdocs.yml").read_text()):
        address = page.removesuffix(".md").removesuffix("index")
        address = f"{address}/" if address else ""
        assert f"{site_path()}{address}</loc>" in sitemap, page


# -- the API reference documents the public API ----------------------------------------------

#: Public modules without ``__all__``: the hook specifications, the kinds table, the
#: builders (``nnframe.layer`` and friends, one per kind) and the argument validators that
#: components (the scaffold's too) use.
PUBLIC_MODULES = ("nnframe.core.hookspecs", "nnframe.core.kinds", "nnframe.core.registry",
                  "nnframe.checks.arguments")


def public_modules() -> list[str]:
    """nnframe's public modules: those above, and every module that declares ``__all__``,
    except the command line's (docs/cli.md documents the commands)."""
    found = set(PUBLIC_MODULES)
    for path in (ROOT / "nnframe").rglob("*.py"):
        if re.search(r"^__all__\b", path.read_text(), re.MULTILINE):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(name for name in found if name != "nnframe.cli"
                  and not name.startswith("nnframe.cli."))


def contract_members(cls: type) -> list[str]:
    """What a plugin's component implements or inherits: the methods and properties a
    contract class defines (``__call__`` included), and the attributes it declares (a
    protocol's, a base class's fields and class variables)."""
    methods = (staticmethod, classmethod, property)
    names = [name for name, value in vars(cls).items()
             if inspect.isfunction(value) or isinstance(value, methods)]
    names += list(inspect.get_annotations(cls))
    return [name for name in dict.fromkeys(names)
            if not name.startswith("_") or name == "__call__"]


#: The modules of the contracts: the core's, and those of data sets and ONNX converters.
CONTRACT_MODULES = ("nnframe.core.contracts", "nnframe.datasets.contract",
                    "nnframe.onnx.contract")


def contract_classes() -> dict[str, type]:
    """Every protocol and class of the contract modules, by its public dotted path."""
    found = {}
    for module_name in CONTRACT_MODULES:
        module = importlib.import_module(module_name)
        found.update({f"{module_name}.{name}": getattr(module, name) for name in module.__all__
                      if inspect.isclass(getattr(module, name))})
    return found


def public_api() -> dict[str, tuple[object, str | None]]:
    """Every public name, as {dotted path: (owner, attribute)}: the object is
    ``getattr(owner, attribute)``, or the owner itself where the attribute is None."""
    api: dict[str, tuple[object, str | None]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        if module_name != "nnframe":
            api[module_name] = (module, None)
        for name in getattr(module, "__all__", []):
            if not name.startswith("__"):
                api[f"{module_name}.{name}"] = (module, name)
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if hasattr(function, marker):
            api[f"nnframe.core.hookspecs.{name}"] = (hookspecs, name)
    for kind in KINDS:  # every kind: built by name, and checked by the kit
        builder = getattr(nnframe, kind.name)
        api[f"{builder.__module__}.{kind.name}"] = (
            importlib.import_module(builder.__module__), kind.name)
        if kind.check is not None:
            module, _, function = kind.check.partition(":")
            api[f"{module}.{function}"] = (importlib.import_module(module), function)
    for path, cls in contract_classes().items():
        for member in contract_members(cls):
            api[f"{path}.{member}"] = (cls, member)
    return api


def resolutions(path: str) -> list[object]:
    """The objects a dotted path may name: a module (the longest that imports) and the
    attributes after it, for every split. Both, where a package's function has the name of
    one of its modules (``nnframe.datasets.mnist``)."""
    parts, found = path.split("."), []
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for part in parts[split:]:
            obj = getattr(obj, part, None)
        if obj is not None:
            found.append(obj)
    return found


@pytest.fixture(scope="module")
def api_page(site) -> tuple[list[str], list[str]]:
    """The API reference's rendered objects (mkdocstrings' heading ids) and heading texts."""
    page = Elements((site / "api" / "index.html").read_text())
    ids = [attrs["id"] for tag, attrs in page.tags
           if re.fullmatch(r"h[1-6]", tag) and (attrs.get("id") or "").startswith("nnframe")]
    return ids, page.headings


def documented(path: str, owner: object, attribute: str | None,
               ids: list[str], headings: list[str]) -> bool:
    """An entry renders this object, or a heading names it."""
    if any(re.search(rf"(^|\s){re.escape(path)}(\s|$)", text.replace("¶", ""))
           for text in headings):
        return True
    target = owner if attribute is None else getattr(owner, attribute, None)
    for rendered in ids:
        parent, _, name = rendered.rpartition(".")
        if attribute is not None and name == attribute and any(
                obj is owner for obj in resolutions(parent)):
            return True  # also an attribute that a protocol only declares
        if target is not None and any(obj is target for obj in resolutions(rendered)):
            return True
    return False


def api_cases() -> list:
    return [pytest.param(path, owner, attribute, id=path)
            for path, (owner, attribute) in public_api().items()]


def test_the_public_api_is_found():
    api = public_api()
    assert {"nnframe.Network", "nnframe.hookimpl", "nnframe.core.hookspecs.register_layers",
            "nnframe.testing.check_layer", "nnframe.datasets.mnist", "nnframe.config",
            "nnframe.config.load_config", "nnframe.core.contracts.LayerProtocol.backward",
            "nnframe.core.contracts.LayerProtocol.params", "nnframe.core.contracts.Layer.state",
            "nnframe.core.contracts.Loss.takes_logits", "nnframe.core.contracts.Optimizer.slot",
            "nnframe.core.contracts.ParameterGroup.values",
            "nnframe.datasets.contract.Dataset.loader",
            "nnframe.core.contracts.InitializerProtocol.__call__", "nnframe.core.kinds",
            "nnframe.core.contracts.Callback.on_batch_end", "nnframe.core.registry.metric",
            "nnframe.testing.schedules.check_schedule"} <= set(api)
    for kind in KINDS:  # every kind's contract, hook and builder is part of the API
        assert f"nnframe.core.hookspecs.{kind.hook}" in api
        assert f"{getattr(nnframe, kind.name).__module__}.{kind.name}" in api
    assert not any(path.startswith("nnframe.cli") for path in api)


@pytest.mark.parametrize(("path", "owner", "attribute"), api_cases())
def test_the_api_reference_documents(path, owner, attribute, api_page):
    ids, headings = api_page
    assert documented(path, owner, attribute, ids, headings), (
        f"docs/api.md has no entry for {path}: add `::: {path}` (it needs a docstring to "
        "show) or a heading that names it")


def test_the_api_reference_reads_well(site):
    """No heading repeats the one before it ("Callbacks", then "callbacks"), and no
    doctest directive shows in an example."""
    page = (site / "api" / "index.html").read_text()
    headings = [re.sub(r"[\s¶]+", " ", text).strip().lower()
                for text in Elements(page).headings]
    repeated = [f"{a!r} then {b!r}" for a, b in pairwise(headings) if a == b]
    assert not repeated, f"docs/api.md: headings that repeat: {repeated}"
    assert "doctest:" not in page
