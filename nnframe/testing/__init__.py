"""Tools for checking components against their contracts: finite-difference gradients."""

from nnframe.testing.gradients import (
    layer_gradient_errors,
    loss_gradient_error,
    numerical_gradient,
    relative_error,
)

__all__ = [
    "layer_gradient_errors",
    "loss_gradient_error",
    "numerical_gradient",
    "relative_error",
]
