"""RMSprop, with the update rule of ``torch.optim.RMSprop`` (not centered)."""

from __future__ import annotations

import attrs
import numpy as np

from nnframe.arguments import non_negative, to_float, unit_interval
from nnframe.contracts import Optimizer, ParameterGroup


@attrs.define(eq=False)
class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square (torch.optim.RMSprop)."""

    learning_rate: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)
    alpha: float = attrs.field(default=0.99, converter=to_float, validator=unit_interval)
    eps: float = attrs.field(default=1e-8, converter=to_float, validator=non_negative)
    momentum: float = attrs.field(default=0.0, converter=to_float, validator=unit_interval)

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        lr, alpha = self.learning_rate, self.alpha
        g, value = parameters.grads, parameters.values
        square_avg = self.slot(parameters, "square_avg")
        square_avg *= alpha
        square_avg += (1.0 - alpha) * (g * g)
        update = np.sqrt(square_avg)
        update += self.eps
        np.divide(g, update, out=update)
        if self.momentum:
            buffer = self.slot(parameters, "momentum_buffer")
            buffer *= self.momentum
            buffer += update
            update = buffer
        value -= lr * update
        self.iterations += 1
