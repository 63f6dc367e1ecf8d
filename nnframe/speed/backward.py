"""`ParameterBackward`: backward as training needs it, which skips work no one uses.

A network's backward returns dE/dX of its input, which training throws away, and the
layers before the first one with parameters need no gradient at all. Training instead
runs backward down to the first layer with parameters only, and asks that layer for its
parameter gradients alone (``backward_parameters``, when it offers one), which for a
dense first layer saves the largest product of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nnframe.checks.layers import backward_parameters_agrees, checked_backward


class ParameterBackward:
    """Backward as training needs it: down to the first layer with parameters only, which
    is asked for its parameter gradients alone (``backward_parameters``, when it offers
    one and the first batch shows it agrees with its ``backward``), since no one uses dE/dX
    of the network's input."""

    def __init__(self, layers: Sequence[Any]) -> None:
        self.layers = list(layers)
        self.first = next((i for i, layer in enumerate(layers) if layer.params), None)
        if self.first is None:
            self.steps, self.last = [], None
            return
        self.steps = [layer.backward for layer in reversed(self.layers[self.first + 1:])]
        layer = self.layers[self.first]
        self.last = getattr(layer, "backward_parameters", None) or layer.backward

    def __call__(self, grad: np.ndarray) -> None:
        if self.last is None:
            return
        for step in self.steps:
            grad = step(grad)
        self.last(grad)

    def checked(self, grad: np.ndarray, inputs: list[np.ndarray]) -> None:
        """The first batch: every shape checked, and ``backward_parameters`` compared with
        ``backward`` (a subclass that overrides only ``backward`` keeps its gradients)."""
        if self.first is None:
            return
        grad = checked_backward(self.layers, grad, inputs, self.first)
        layer = self.layers[self.first]
        if self.last == layer.backward:
            self.last(grad)
        elif not backward_parameters_agrees(self.first, layer, grad):
            self.last = layer.backward
