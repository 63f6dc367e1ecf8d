"""Griffe extension: show the API reference the names `nnframe` exports on first use.

`nnframe/__init__.py` writes every public name once, in its table ``_PUBLIC`` (module ->
names), and imports all but the errors on first use (PEP 562), so reading its source, as
the API reference does, finds no ``Network`` or ``load`` there. This extension reads the
table and adds each name to the ``nnframe`` module as an alias of the object where it is
defined, so that ``::: nnframe.Network`` and references to ``nnframe.load`` resolve.
"""

from __future__ import annotations

import importlib

import griffe


class PublicNames(griffe.Extension):
    """Add ``nnframe.<name>`` aliases for every name of ``nnframe._PUBLIC``."""

    MODULE = "nnframe"

    def on_module_members(self, *, mod: griffe.Module, **kwargs: object) -> None:
        if mod.path != self.MODULE:
            return
        table = importlib.import_module(self.MODULE)._PUBLIC
        for module, names in table.items():
            for name in names:
                if name not in mod.members:
                    mod.set_member(name, griffe.Alias(name, f"{module}.{name}", parent=mod))
