"""Adam and AdamW, with the update rules of ``torch.optim.Adam`` and ``torch.optim.AdamW``."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from nnframe.checks.arguments import boolean, non_negative, to_float, unit_interval
from nnframe.core.contracts import Optimizer, ParameterGroup
from nnframe.core.contracts.config import config_of
from nnframe.optimizers import general
from nnframe.speed.kernels import use


@attrs.define(eq=False)
class Adam(Optimizer):
    """Adam: adaptive moment estimation with bias correction (torch.optim.Adam).

    ``weight_decay`` adds weight_decay * p to the gradient (Adam's L2 penalty; AdamW
    decouples it instead). Keyword-only options with PyTorch's meaning: ``amsgrad`` divides
    by the largest second moment so far (state ``v_max``), ``maximize`` climbs the
    objective.
    """

    elementwise: ClassVar[bool] = True  # each element's update reads only that element

    learning_rate: float = attrs.field(default=0.001, converter=to_float, validator=non_negative)
    beta1: float = attrs.field(default=0.9, converter=to_float, validator=unit_interval)
    beta2: float = attrs.field(default=0.999, converter=to_float, validator=unit_interval)
    eps: float = attrs.field(default=1e-8, converter=to_float, validator=non_negative)
    weight_decay: float = attrs.field(default=0.0, converter=to_float, validator=non_negative)
    amsgrad: bool = attrs.field(default=False, kw_only=True, validator=boolean)
    maximize: bool = attrs.field(default=False, kw_only=True, validator=boolean)

    #: Arguments left out of the config at their defaults: added after model files were.
    _new_arguments: ClassVar[tuple[str, ...]] = ("weight_decay", "amsgrad", "maximize")

    @property
    def kernel(self) -> str | None:
        """The named kernel its steps run (`nnframe.speed.kernels`), or None: the options
        ``amsgrad`` and ``maximize`` take the plain NumPy rules instead."""
        if self.amsgrad or self.maximize:
            return None
        return "adamw_step" if self._decoupled() else "adam_step"

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once."""
        t = self.iterations + 1
        decoupled = self._decoupled()
        m, v = self.slot(parameters, "m"), self.slot(parameters, "v")
        if self.amsgrad or self.maximize:
            v_max = self.slot(parameters, "v_max") if self.amsgrad else None
            general.adam_step(parameters.values, parameters.grads, m, v, v_max,
                              lr=self.learning_rate, beta1=self.beta1, beta2=self.beta2,
                              eps=self.eps, step=t, weight_decay=self.weight_decay,
                              decoupled=decoupled, maximize=self.maximize)
        elif decoupled:  # the named kernels: a plugin's fused loop, or NumPy's
            use("adamw_step")(parameters.values, parameters.grads, m, v,
                              lr=self.learning_rate, beta1=self.beta1, beta2=self.beta2,
                              eps=self.eps, step=t, weight_decay=self.weight_decay)
        else:
            use("adam_step")(parameters.values, parameters.grads, m, v,
                             lr=self.learning_rate, beta1=self.beta1, beta2=self.beta2,
                             eps=self.eps, step=t, weight_decay=self.weight_decay)
        self.iterations = t

    def _decoupled(self) -> bool:
        """Whether the weight decay is decoupled (AdamW) rather than an L2 penalty."""
        return False

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments; the options added later only off their defaults."""
        return config_of(self, omit_defaults=self._new_arguments)


@attrs.define(eq=False)
class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay, p *= 1 - lr * weight_decay (torch.optim.AdamW);
    ``amsgrad`` and ``maximize`` as Adam's."""

    weight_decay: float = attrs.field(default=0.01, converter=to_float, validator=non_negative)

    _new_arguments: ClassVar[tuple[str, ...]] = ("amsgrad", "maximize")

    def _decoupled(self) -> bool:
        return True
