"""Adam and AdamW, with the update rules of ``torch.optim.Adam`` and ``torch.optim.AdamW``."""

from __future__ import annotations

import math

import attrs
import numpy as np

from nnframe.arguments import non_negative, to_float, unit_interval
from nnframe.contracts import Optimizer, ParameterGroup


@attrs.define(eq=False)
class Adam(Optimizer):
    """Adam: adaptive moment estimation with bias correction (torch.optim.Adam)."""

    learning_rate: float = attrs.field(default=0.001, converter=to_float, validator=non_negative)
    beta1: float = attrs.field(default=0.9, converter=to_float, validator=unit_interval)
    beta2: float = attrs.field(default=0.999, converter=to_float, validator=unit_interval)
    eps: float = attrs.field(default=1e-8, converter=to_float, validator=non_negative)
    _scratch: np.ndarray | None = attrs.field(init=False, default=None, repr=False)

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        t = self.iterations + 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.learning_rate / (1.0 - b1**t)
        inv_sqrt_correction2 = 1.0 / math.sqrt(1.0 - b2**t)
        g, value = parameters.grads, parameters.values
        self._decay(value)
        m = self.slot(parameters, "m")
        v = self.slot(parameters, "v")
        tmp = self._scratch
        if tmp is None or tmp.shape != value.shape or tmp.dtype != value.dtype:
            tmp = self._scratch = np.empty_like(value)
        # m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2   (in place, no temporaries)
        np.multiply(g, 1.0 - b1, out=tmp)
        m *= b1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v *= b2
        v += tmp
        # p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
        np.sqrt(v, out=tmp)
        tmp *= inv_sqrt_correction2
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= step_size
        value -= tmp
        self.iterations = t

    def _decay(self, values: np.ndarray) -> None:
        """Weight decay before the moment update: none for Adam."""


@attrs.define(eq=False)
class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay (torch.optim.AdamW)."""

    weight_decay: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)

    def _decay(self, values: np.ndarray) -> None:
        if self.weight_decay:
            values *= 1.0 - self.learning_rate * self.weight_decay
