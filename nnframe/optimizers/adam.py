"""Adam and AdamW, with the update rules of ``torch.optim.Adam`` and ``torch.optim.AdamW``.

`adam_rule` is the update written as its maths; the optimizers run it for the options the
fast path lacks (AMSGrad, ``maximize``) and otherwise the named kernels ``adam_step`` and
``adamw_step`` (`nnframe.speed.blocked`, or a plugin's), which compute the same in
cache-sized blocks and are tested equal to it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs
import numpy as np

from nnframe.checks.arguments import boolean, non_negative, to_float, unit_interval
from nnframe.core.contracts import Optimizer, ParameterGroup
from nnframe.core.contracts.config import config_of
from nnframe.speed.kernels import use


def adam_rule(p: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray,
              v_max: np.ndarray | None = None, *, lr: float, beta1: float, beta2: float,
              eps: float, step: int, weight_decay: float = 0.0, decoupled: bool = False,
              maximize: bool = False) -> None:
    """One step of Adam (AdamW with ``decoupled``) on whole arrays: the values ``p``, their
    gradient ``g``, the moments ``m`` and ``v`` (and AMSGrad's ``v_max``) updated in place.
    ``step`` counts from 1. Written for reading, not speed: a few temporary arrays."""
    if maximize:
        g = -g
    if decoupled:
        p *= 1 - lr * weight_decay  # AdamW: the weights decay themselves
    elif weight_decay:
        g = g + weight_decay * p  # Adam: an L2 penalty on the gradient
    m[...] = beta1 * m + (1 - beta1) * g  # the running mean of the gradient
    v[...] = beta2 * v + (1 - beta2) * g * g  # ... and of its square
    if v_max is not None:  # AMSGrad: divide by the largest second moment so far
        np.maximum(v_max, v, out=v_max)
        v = v_max
    m_hat = m / (1 - beta1**step)  # both averages start at 0: correct the bias
    v_hat = v / (1 - beta2**step)
    p -= lr * m_hat / (np.sqrt(v_hat) + eps)


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
        ``amsgrad`` and ``maximize`` take `adam_rule` instead."""
        if self.amsgrad or self.maximize:
            return None
        return "adamw_step" if self._decoupled() else "adam_step"

    def step(self, parameters: ParameterGroup) -> None:
        """One update of every parameter, over the whole buffer at once: the named kernel
        where the options allow (the fast path), else `adam_rule` as written."""
        t = self.iterations + 1
        m, v = self.slot(parameters, "m"), self.slot(parameters, "v")
        hyper = {"lr": self.learning_rate, "beta1": self.beta1, "beta2": self.beta2,
                 "eps": self.eps, "step": t, "weight_decay": self.weight_decay}
        kernel = self.kernel
        if kernel is None:
            v_max = self.slot(parameters, "v_max") if self.amsgrad else None
            adam_rule(parameters.values, parameters.grads, m, v, v_max, **hyper,
                      decoupled=self._decoupled(), maximize=self.maximize)
        else:
            use(kernel)(parameters.values, parameters.grads, m, v, **hyper)
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
