"""RMSprop, with the update rule of ``torch.optim.RMSprop``."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from nnframe.checks.arguments import boolean, non_negative, to_float, unit_interval
from nnframe.core.contracts import Optimizer, ParameterGroup
from nnframe.core.contracts.config import config_of
from nnframe.optimizers import general
from nnframe.speed.kernels import use


@attrs.define(eq=False)
class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square (torch.optim.RMSprop).

    Keyword-only options with PyTorch's meaning: ``centered`` divides by the root of the
    running variance instead (state ``grad_avg``, the running mean of the gradient),
    ``weight_decay`` adds weight_decay * p to the gradient, ``maximize`` climbs the
    objective.
    """

    elementwise: ClassVar[bool] = True  # each element's update reads only that element

    learning_rate: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)
    alpha: float = attrs.field(default=0.99, converter=to_float, validator=unit_interval)
    eps: float = attrs.field(default=1e-8, converter=to_float, validator=non_negative)
    momentum: float = attrs.field(default=0.0, converter=to_float, validator=unit_interval)
    centered: bool = attrs.field(default=False, kw_only=True, validator=boolean)
    weight_decay: float = attrs.field(default=0.0, kw_only=True, converter=to_float,
                                      validator=non_negative)
    maximize: bool = attrs.field(default=False, kw_only=True, validator=boolean)

    @property
    def kernel(self) -> str | None:
        """The named kernel its steps run (`nnframe.speed.kernels`), or None: ``centered``,
        weight decay and ``maximize`` take the plain NumPy rules instead."""
        if self.centered or self.weight_decay or self.maximize:
            return None
        return "rmsprop_step"

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        buffer = self.slot(parameters, "momentum_buffer") if self.momentum else None
        square_avg = self.slot(parameters, "square_avg")
        if self.centered or self.weight_decay or self.maximize:
            grad_avg = self.slot(parameters, "grad_avg") if self.centered else None
            general.rmsprop_step(parameters.values, parameters.grads, square_avg, grad_avg,
                                 buffer, lr=self.learning_rate, alpha=self.alpha,
                                 eps=self.eps, momentum=self.momentum,
                                 weight_decay=self.weight_decay, maximize=self.maximize)
        else:
            use("rmsprop_step")(parameters.values, parameters.grads, square_avg,
                                lr=self.learning_rate, alpha=self.alpha, eps=self.eps,
                                momentum=self.momentum, momentum_buffer=buffer)
        self.iterations += 1

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; the options added later only off their defaults."""
        return config_of(self, omit_defaults=("centered", "weight_decay", "maximize"))
