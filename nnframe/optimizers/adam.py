"""Adam and AdamW, with the update rules of ``torch.optim.Adam`` and ``torch.optim.AdamW``."""

from __future__ import annotations

import attrs

from nnframe.arguments import non_negative, to_float, unit_interval
from nnframe.contracts import Optimizer, ParameterGroup
from nnframe.optimizers import kernels


@attrs.define(eq=False)
class Adam(Optimizer):
    """Adam: adaptive moment estimation with bias correction (torch.optim.Adam)."""

    learning_rate: float = attrs.field(default=0.001, converter=to_float, validator=non_negative)
    beta1: float = attrs.field(default=0.9, converter=to_float, validator=unit_interval)
    beta2: float = attrs.field(default=0.999, converter=to_float, validator=unit_interval)
    eps: float = attrs.field(default=1e-8, converter=to_float, validator=non_negative)

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        t = self.iterations + 1
        weight_decay, decoupled = self._weight_decay()
        kernels.adam_step(parameters.values, parameters.grads, self.slot(parameters, "m"),
                          self.slot(parameters, "v"), lr=self.learning_rate, beta1=self.beta1,
                          beta2=self.beta2, eps=self.eps, step=t, weight_decay=weight_decay,
                          decoupled=decoupled)
        self.iterations = t

    def _weight_decay(self) -> tuple[float, bool]:
        """(weight decay, whether it is decoupled): none for Adam."""
        return 0.0, False


@attrs.define(eq=False)
class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay (torch.optim.AdamW)."""

    weight_decay: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)

    def _weight_decay(self) -> tuple[float, bool]:
        return self.weight_decay, True
