"""`NestedArrays`: the ``params``, ``grads`` or ``state`` of a layer that holds other layers.

A composite layer (``sequential``, ``residual``, ``parallel``, or a plugin's block that
builds its own inner layers) shows its inner layers' arrays under ``"<inner>.<name>"``
keys, live: the network puts views of its one parameter buffer in place through it, as
for any layer. Plugins use it for their own composite layers.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np


class NestedArrays(MutableMapping):
    """A live view of the inner layers' ``params``, ``grads`` or ``state`` dicts.

    ``"1.weights"`` is ``inner[1].params["weights"]``; setting it sets the inner dict's
    entry, so the network can put views of its buffers in place, as for any layer.
    """

    def __init__(self, inner: list[tuple[str, Any]], which: str) -> None:
        self._inner = inner
        self._which = which
        #: prefix -> (position, layer): a key is found through its few dots, not by trying
        #: every inner layer (quadratic for 3,000 parallel branches)
        self._index = {prefix: (position, layer)
                       for position, (prefix, layer) in enumerate(inner)}

    def _dict(self, layer: Any) -> dict[str, np.ndarray]:
        if self._which == "state":  # optional: a layer without it has none
            return getattr(layer, "state", None) or {}
        return getattr(layer, self._which)

    def _find(self, key: str) -> tuple[dict[str, np.ndarray], str]:
        found = None  # the first inner layer, in order, whose prefix and name match
        dot = key.find(".")
        while dot != -1:
            entry = self._index.get(key[:dot])
            if entry is not None and (found is None or entry[0] < found[0]):
                held, name = self._dict(entry[1]), key[dot + 1:]
                if name in held:
                    found = (entry[0], held, name)
            dot = key.find(".", dot + 1)
        if found is None:
            raise KeyError(key)
        return found[1], found[2]

    def __getitem__(self, key: str) -> np.ndarray:
        held, name = self._find(key)
        return held[name]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        held, name = self._find(key)
        held[name] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("the arrays of inner layers cannot be removed through a composite")

    def __iter__(self) -> Iterator[str]:
        for prefix, layer in self._inner:
            for name in self._dict(layer):
                yield f"{prefix}.{name}"

    def __len__(self) -> int:
        return sum(len(self._dict(layer)) for _, layer in self._inner)

    def __repr__(self) -> str:
        return f"NestedArrays({list(self)})"
