"""A live view of named inner layers' ``params``, ``grads`` or ``state`` dicts.

``"attention.in_weights"`` is ``attention.params["in_weights"]``; setting it sets the inner
dict's entry, so the network can put views of its one parameter buffer in place, as it
does for any layer.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np


class NamedArrays(MutableMapping):
    """The arrays of ``inner`` (name, layer) pairs under ``"<name>.<key>"``."""

    def __init__(self, inner: list[tuple[str, Any]], which: str) -> None:
        self._inner = inner
        self._which = which

    def _dict(self, layer: Any) -> dict[str, np.ndarray]:
        return getattr(layer, self._which, None) or {}

    def _find(self, key: str) -> tuple[dict[str, np.ndarray], str]:
        prefix, _, name = key.partition(".")
        for own, layer in self._inner:
            if own == prefix and name in self._dict(layer):
                return self._dict(layer), name
        raise KeyError(key)

    def __getitem__(self, key: str) -> np.ndarray:
        held, name = self._find(key)
        return held[name]

    def __setitem__(self, key: str, value: np.ndarray) -> None:
        held, name = self._find(key)
        held[name] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("the arrays of inner layers cannot be removed")

    def __iter__(self) -> Iterator[str]:
        for prefix, layer in self._inner:
            for name in self._dict(layer):
                yield f"{prefix}.{name}"

    def __len__(self) -> int:
        return sum(len(self._dict(layer)) for _, layer in self._inner)

    def __repr__(self) -> str:
        return f"NamedArrays({list(self)})"
