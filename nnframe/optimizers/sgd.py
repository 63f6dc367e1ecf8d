"""Stochastic gradient descent, with optional (Nesterov) momentum as in ``torch.optim.SGD``."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from nnframe.checks.arguments import boolean, non_negative, to_float, unit_interval
from nnframe.core.contracts import Optimizer, ParameterGroup
from nnframe.core.contracts.config import config_of
from nnframe.errors import ConfigError
from nnframe.optimizers import general
from nnframe.speed.kernels import use


@attrs.define(eq=False)
class SGD(Optimizer):
    """Stochastic gradient descent: p -= learning_rate * g (with optional momentum), as
    torch.optim.SGD.

    Options with PyTorch's meaning (keyword-only): ``weight_decay`` adds weight_decay * p
    to the gradient (an L2 penalty); ``dampening`` scales the gradient's share of the
    momentum by 1 - dampening after the first step; ``maximize`` climbs the objective.
    """

    elementwise: ClassVar[bool] = True  # each element's update reads only that element

    #: `nnframe check` runs it with momentum, so that its state is checked too.
    check_hints: ClassVar[dict] = {"config": {"momentum": 0.9}}

    learning_rate: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)
    momentum: float = attrs.field(default=0.0, converter=to_float, validator=unit_interval)
    nesterov: bool = attrs.field(default=False)
    weight_decay: float = attrs.field(default=0.0, kw_only=True, converter=to_float,
                                      validator=non_negative)
    dampening: float = attrs.field(default=0.0, kw_only=True, converter=to_float,
                                   validator=unit_interval)
    maximize: bool = attrs.field(default=False, kw_only=True, validator=boolean)

    def __attrs_post_init__(self) -> None:
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ConfigError("SGD: nesterov=True needs a momentum > 0 and dampening 0")

    @property
    def kernel(self) -> str | None:
        """The named kernel its steps run (`nnframe.speed.kernels`), or None: weight decay,
        dampening and ``maximize`` take the plain NumPy rules instead."""
        return None if self.weight_decay or self.dampening or self.maximize else "sgd_step"

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        # torch.optim.SGD starts the velocity at the first gradient: mu * 0 + g is g
        velocity = self.slot(parameters, "velocity") if self.momentum else None
        if self.weight_decay or self.dampening or self.maximize:
            general.sgd_step(parameters.values, parameters.grads, velocity,
                             lr=self.learning_rate, momentum=self.momentum,
                             dampening=self.dampening, nesterov=self.nesterov,
                             weight_decay=self.weight_decay, maximize=self.maximize,
                             first=self.iterations == 0)
        else:
            use("sgd_step")(parameters.values, parameters.grads, velocity,
                            lr=self.learning_rate, momentum=self.momentum,
                            nesterov=self.nesterov)
        self.iterations += 1

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; the options added later only off their defaults."""
        return config_of(self, omit_defaults=("weight_decay", "dampening", "maximize"))
