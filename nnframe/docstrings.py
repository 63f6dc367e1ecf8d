"""Docstrings of factories, read from source without importing them.

`nnframe list` shows a one-line summary of every component. Importing every component
module (and NumPy with them) only to read docstrings would make listing slow, so a factory
registered as ``"module:Name"`` has its docstring parsed out of the module's source file,
found the way the import system would find it, but without running any module.
"""

from __future__ import annotations

import ast
import functools
import sys
from importlib.machinery import ModuleSpec, PathFinder


def summary(text: str | None) -> str:
    """The first paragraph of a docstring as one line, or ``""``."""
    paragraph = []
    for line in (text or "").strip().splitlines():
        if not line.strip():
            break
        paragraph.append(line.strip())
    return " ".join(paragraph)


def lazy_docstring(reference: str) -> str | None:
    """The docstring of the class or function ``"module:Name"`` (``Name`` may be dotted),
    read from the module's source; None when that cannot be done without importing it
    (no source file, or ``Name`` is not a class or function defined in that module)."""
    module_name, _, attribute = reference.partition(":")
    spec = _find_spec(module_name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    body = _module_body(spec.origin)
    if body is None:
        return None
    node = None
    for part in attribute.split("."):
        node = next((n for n in body if isinstance(
            n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == part), None)
        if node is None:
            return None
        body = node.body
    return ast.get_docstring(node) or ""


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
def _module_body(path: str) -> list[ast.stmt] | None:
    try:
        with open(path, encoding="utf-8") as source:
            return ast.parse(source.read(), filename=path).body
    except (OSError, SyntaxError, ValueError):
        return None
