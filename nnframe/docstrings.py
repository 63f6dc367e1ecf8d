"""Docstrings of factories, read from source without importing them.

`nnframe list` shows a one-line summary of every component. Importing every component
module (and NumPy with them) only to read docstrings would make listing slow, so a factory
registered as ``"module:Name"`` has its docstring read out of the module's source file,
found the way the import system would find it, without running any module. Only the
tokens of the definition's header and first statement are read, not the whole module.
"""

from __future__ import annotations

import ast
import functools
import inspect
import io
import re
import sys
import tokenize
from importlib.machinery import ModuleSpec, PathFinder
from typing import Any

from nnframe.errors import PluginError

#: Tokens that may stand between a definition's header and its docstring.
_SKIPPED = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT}


#: ``code``, `~module.Name`, `module.Name` and :role:`target` markup, for plain text.
_MARKUP = re.compile(r"(?::[a-z]+:)?(``?)~?([^`]+?)\1")


def plain(text: str) -> str:
    """Docstring markup as a terminal shows it: ``x`` and `x` become `x`, and a
    cross-reference `~nnframe.errors.ConfigError` keeps only its last name."""

    def one(match: re.Match[str]) -> str:
        target = match.group(2)
        if match.group(1) == "`" and match.group(0).find("~") >= 0:
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    return _MARKUP.sub(one, text)


def summary(text: str | None) -> str:
    """The first paragraph of a docstring as one line of plain text, or ``""``."""
    paragraph = []
    for line in (text or "").strip().splitlines():
        if not line.strip():
            break
        paragraph.append(line.strip())
    return plain(" ".join(paragraph))


def lazy_docstring(reference: str) -> str | None:
    """The docstring of the class or function ``"module:Name"`` (``Name`` may be dotted),
    read from the module's source; None when that cannot be done without importing it
    (no source file, or ``Name`` is not a class or function defined in that module)."""
    module_name, _, attribute = reference.partition(":")
    spec = _find_spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    source = _source(spec.origin)
    if source is None:
        return None
    start = 0
    for part in attribute.split("."):
        found = re.compile(rf"^[ \t]*(?:async[ \t]+)?(?:class|def)[ \t]+{re.escape(part)}\b",
                           re.MULTILINE).search(source, start)
        if found is None:
            return None
        start = found.start()
    return _docstring_at(source, start)


def _docstring_at(source: str, start: int) -> str | None:
    """The docstring of the definition starting at ``start``: the string that is the first
    statement after its header (whose ``:`` ends it outside brackets)."""
    depth, header_done = 0, False
    try:
        for token in tokenize.generate_tokens(io.StringIO(source[start:]).readline):
            if not header_done:
                if token.type == tokenize.OP and token.string in "([{":
                    depth += 1
                elif token.type == tokenize.OP and token.string in ")]}":
                    depth -= 1
                elif token.type == tokenize.OP and token.string == ":" and depth == 0:
                    header_done = True
                continue
            if token.type in _SKIPPED:
                continue
            if token.type == tokenize.STRING:
                return inspect.cleandoc(ast.literal_eval(token.string))
            return ""  # the body starts with something else: no docstring
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return None


def _find_spec(module_name: str) -> ModuleSpec | None:
    """The module's spec, searched from its nearest imported parent package downwards,
    executing nothing (``importlib.util.find_spec`` would import the parents)."""
    parts = module_name.split(".")
    spec: ModuleSpec | None = None
    start = 0
    for end in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:end]))
        if module is not None:
            spec, start = getattr(module, "__spec__", None), end
            break
    try:
        for index in range(start, len(parts)):
            path = None if spec is None else spec.submodule_search_locations
            if index and path is None:
                return None
            spec = PathFinder.find_spec(".".join(parts[: index + 1]), path)
            if spec is None:
                return None
    except (ImportError, ValueError):
        return None
    return spec


@functools.lru_cache(maxsize=64)
def _source(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as source:
            return source.read()
    except (OSError, ValueError):
        return None


def component_summary(component: Any) -> tuple[str, bool]:
    """A registered component's summary for ``nnframe list``, and whether it is final: a
    lazy factory's docstring is read from its source without importing it, and one that
    cannot be imported is summarised as broken, saying why (not final: a later listing
    tries again), so that one broken entry never hides the others."""
    factory = component.imported
    if factory is not None or component.reference is None:
        return summary(getattr(factory, "__doc__", None)), True
    doc = lazy_docstring(component.reference)
    if doc is None:
        try:
            doc = getattr(component.factory, "__doc__", None)
        except PluginError as exc:
            cause = exc.__cause__ or exc
            return (f"BROKEN: cannot import {component.reference} "
                    f"({type(cause).__name__}: {cause})"), False
    return summary(doc), True
