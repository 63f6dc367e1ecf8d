"""Stochastic gradient descent, with optional (Nesterov) momentum as in ``torch.optim.SGD``.

`sgd_rule` is the update written as its maths; `SGD` runs it for the options the fast
path lacks (weight decay, dampening, ``maximize``) and otherwise the named kernel
``sgd_step`` (`nnframe.speed.blocked`, or a plugin's), which computes the same in
cache-sized blocks and is tested equal to it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import boolean, non_negative, to_float, unit_interval
from nnframe.core.contracts import Optimizer, ParameterGroup
from nnframe.core.contracts.config import config_of
from nnframe.errors import ConfigError
from nnframe.speed.kernels import use


def sgd_rule(p: np.ndarray, g: np.ndarray, velocity: np.ndarray | None = None, *,
             lr: float, momentum: float = 0.0, dampening: float = 0.0,
             nesterov: bool = False, weight_decay: float = 0.0, maximize: bool = False,
             first: bool = False) -> None:
    """One step of SGD on whole arrays: the values ``p`` and, with momentum, the
    ``velocity`` updated in place from the gradient ``g``; ``first`` on the first step,
    where the velocity starts at the gradient. Written for reading, not speed."""
    if maximize:
        g = -g
    if weight_decay:
        g = g + weight_decay * p  # an L2 penalty on the gradient
    if momentum:
        if first:
            velocity[...] = g
        else:
            velocity[...] = momentum * velocity + (1 - dampening) * g
        g = g + momentum * velocity if nesterov else velocity  # Nesterov looks ahead
    p -= lr * g


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
        dampening and ``maximize`` take `sgd_rule` instead."""
        return None if self.weight_decay or self.dampening or self.maximize else "sgd_step"

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once: the named kernel
        where the options allow (the fast path), else `sgd_rule` as written."""
        # torch.optim.SGD starts the velocity at the first gradient: mu * 0 + g is g
        velocity = self.slot(parameters, "velocity") if self.momentum else None
        if self.kernel is None:
            sgd_rule(parameters.values, parameters.grads, velocity, lr=self.learning_rate,
                     momentum=self.momentum, dampening=self.dampening,
                     nesterov=self.nesterov, weight_decay=self.weight_decay,
                     maximize=self.maximize, first=self.iterations == 0)
        else:
            use("sgd_step")(parameters.values, parameters.grads, velocity,
                            lr=self.learning_rate, momentum=self.momentum,
                            nesterov=self.nesterov)
        self.iterations += 1

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; the options added later only off their defaults."""
        return config_of(self, omit_defaults=("weight_decay", "dampening", "maximize"))
