"""RMSprop, with the update rule of ``torch.optim.RMSprop`` (not centered)."""

from __future__ import annotations

import attrs

from nnframe.arguments import non_negative, to_float, unit_interval
from nnframe.contracts import Optimizer, ParameterGroup
from nnframe.optimizers import kernels


@attrs.define(eq=False)
class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square (torch.optim.RMSprop)."""

    learning_rate: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)
    alpha: float = attrs.field(default=0.99, converter=to_float, validator=unit_interval)
    eps: float = attrs.field(default=1e-8, converter=to_float, validator=non_negative)
    momentum: float = attrs.field(default=0.0, converter=to_float, validator=unit_interval)

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        buffer = self.slot(parameters, "momentum_buffer") if self.momentum else None
        kernels.rmsprop_step(parameters.values, parameters.grads,
                             self.slot(parameters, "square_avg"), lr=self.learning_rate,
                             alpha=self.alpha, eps=self.eps, momentum=self.momentum,
                             momentum_buffer=buffer)
        self.iterations += 1
