"""The update rules with every option of torch.optim, in plain NumPy over whole buffers.

The default rules run in `nnframe.speed.blocked`, tuned block by block; an option
that they do not have (SGD's weight decay and dampening, Adam's AMSGrad, RMSprop's
centred variant and weight decay, ``maximize`` on all) takes these instead: the formulas
as torch.optim documents them, one array operation each, a few temporary arrays per step.
Hyperparameters are Python floats, so float32 buffers stay float32.
"""

from __future__ import annotations

import math

import numpy as np


def _direction(values: np.ndarray, grads: np.ndarray, weight_decay: float,
               maximize: bool) -> np.ndarray:
    """The gradient the rule follows: negated to maximise, plus weight_decay * values
    (an L2 penalty); a new array."""
    g = np.negative(grads) if maximize else grads.copy()
    if weight_decay:
        g += weight_decay * values
    return g


def sgd_step(values: np.ndarray, grads: np.ndarray, velocity: np.ndarray | None, *,
             lr: float, momentum: float, dampening: float, nesterov: bool,
             weight_decay: float, maximize: bool, first: bool) -> None:
    """torch.optim.SGD: g = ±grad + weight_decay * p; the velocity starts at g (``first``
    step) and then moves as b = momentum * b + (1 - dampening) * g; p -= lr * b, or with
    Nesterov lr * (g + momentum * b)."""
    g = _direction(values, grads, weight_decay, maximize)
    if momentum:
        if first:
            velocity[...] = g
        else:
            velocity *= momentum
            velocity += (1.0 - dampening) * g
        if nesterov:
            g += momentum * velocity
        else:
            g = velocity
    values -= lr * g


def adam_step(values: np.ndarray, grads: np.ndarray, m: np.ndarray, v: np.ndarray,
              v_max: np.ndarray | None, *, lr: float, beta1: float, beta2: float, eps: float,
              step: int, weight_decay: float, decoupled: bool, maximize: bool) -> None:
    """torch.optim.Adam (AdamW with ``decoupled``): with ``v_max`` (AMSGrad) the
    denominator uses the largest second moment so far."""
    g = _direction(values, grads, 0.0 if decoupled else weight_decay, maximize)
    if decoupled and weight_decay:
        values *= 1.0 - lr * weight_decay
    m += (1.0 - beta1) * (g - m)
    v *= beta2
    g *= g
    g *= 1.0 - beta2
    v += g
    if v_max is not None:
        np.maximum(v_max, v, out=v_max)
    denominator = np.sqrt(v if v_max is None else v_max)
    denominator *= 1.0 / math.sqrt(1.0 - beta2**step)
    denominator += eps
    update = m / denominator
    update *= lr / (1.0 - beta1**step)
    values -= update


def rmsprop_step(values: np.ndarray, grads: np.ndarray, square_avg: np.ndarray,
                 grad_avg: np.ndarray | None, momentum_buffer: np.ndarray | None, *,
                 lr: float, alpha: float, eps: float, momentum: float, weight_decay: float,
                 maximize: bool) -> None:
    """torch.optim.RMSprop: with ``grad_avg`` (centred) the square root is of the
    variance, square_avg - grad_avg**2, rather than the mean square."""
    g = _direction(values, grads, weight_decay, maximize)
    square_avg *= alpha
    square_avg += (1.0 - alpha) * (g * g)
    if grad_avg is not None:
        grad_avg += (1.0 - alpha) * (g - grad_avg)
        average = square_avg - grad_avg * grad_avg
        np.sqrt(average, out=average)
    else:
        average = np.sqrt(square_avg)
    average += eps
    g /= average
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += g
        g = momentum_buffer
    values -= lr * g
