"""Griffe extension: show the hook specifications that nnframe.core.hookspecs makes at import.

The hooks (``register_layers``, ``register_metrics``, ...) are generated from the table of
component kinds when the module is imported, so reading its source, as the API reference
does for everything else, finds none of them. This extension imports the module once the
source has been read and adds each generated hook, with its signature and docstring, as a
function of the module, so the reference documents every kind without naming any. They
are placed where the loop that makes them is, in the order of the kinds table.
"""

from __future__ import annotations

import importlib
import inspect

import griffe


class HookSpecifications(griffe.Extension):
    """Add the generated ``register_*`` functions to ``nnframe.core.hookspecs``."""

    MODULE = "nnframe.core.hookspecs"

    def on_module_members(self, *, mod: griffe.Module, **kwargs: object) -> None:
        if mod.path != self.MODULE:
            return
        hookspecs = importlib.import_module(self.MODULE)
        loop = _line_of(inspect.getsource(hookspecs), "for _kind in KINDS:")
        for name in hookspecs.HOOKS:
            function = getattr(hookspecs, name)
            parameters = griffe.Parameters(*[
                griffe.Parameter(parameter.name, annotation="Register",
                                 kind=griffe.ParameterKind.positional_or_keyword)
                for parameter in inspect.signature(function).parameters.values()])
            member = griffe.Function(name, parameters=parameters, returns="None",
                                     lineno=loop, docstring=griffe.Docstring(
                                         inspect.getdoc(function) or "", parent=None))
            mod.set_member(name, member)
            member.docstring.parent = member


def _line_of(source: str, text: str) -> int:
    """The number of the first line of ``source`` that starts with ``text``."""
    return next(number for number, line in enumerate(source.splitlines(), 1)
                if line.startswith(text))
