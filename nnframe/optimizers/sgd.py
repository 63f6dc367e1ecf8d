"""Stochastic gradient descent, with optional (Nesterov) momentum as in ``torch.optim.SGD``."""

from __future__ import annotations

from typing import ClassVar

import attrs

from nnframe.arguments import non_negative, to_float, unit_interval
from nnframe.contracts import Optimizer, ParameterGroup
from nnframe.errors import ConfigError
from nnframe.optimizers import kernels


@attrs.define(eq=False)
class SGD(Optimizer):
    """Stochastic gradient descent: p -= learning_rate * g (with optional momentum)."""

    #: `nnframe check` runs it with momentum, so that its state is checked too.
    check_hints: ClassVar[dict] = {"config": {"momentum": 0.9}}

    learning_rate: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)
    momentum: float = attrs.field(default=0.0, converter=to_float, validator=unit_interval)
    nesterov: bool = attrs.field(default=False)

    def __attrs_post_init__(self) -> None:
        if self.nesterov and self.momentum == 0.0:
            raise ConfigError("SGD: nesterov=True needs a momentum > 0")

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        # torch.optim.SGD starts the velocity at the first gradient: mu * 0 + g is g
        velocity = self.slot(parameters, "velocity") if self.momentum else None
        kernels.sgd_step(parameters.values, parameters.grads, velocity, lr=self.learning_rate,
                         momentum=self.momentum, nesterov=self.nesterov)
        self.iterations += 1
