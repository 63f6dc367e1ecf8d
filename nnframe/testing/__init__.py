"""The plugin author's kit: check that a component honours its contract.

    from nnframe.testing import check_layer, check_loss, check_optimizer
    check_layer("dense", (4,), output_size=3)        # raises AssertionError on any failure
    report = check_loss("mse", raises=False)         # or inspect the report
    check_distribution("my-nnframe-plugin")          # every component a distribution registers

The other kinds have `check_initializer`, `check_metric`, `check_schedule` and
`check_kernel`;
callbacks and data sets get `check_generic`. `check_component` runs the right one for a
registered component of any kind.

Components that need particular arguments or data say so with a ``check_hints`` dict on
their factory (see `nnframe.testing.hints`). The finite-difference helpers the checks use
are here too.
"""

from nnframe.testing.components import (
    check_component,
    check_distribution,
    components_of,
    distribution_problems,
)
from nnframe.testing.generic import check_generic
from nnframe.testing.gradients import (
    GradientMismatch,
    assert_gradient_matches,
    assert_layer_gradients,
    assert_loss_gradient,
    energy_scale,
    gradient_mismatch,
    layer_gradient_errors,
    layer_gradients,
    loss_gradient_error,
    loss_gradients,
    loss_scale,
    numerical_gradient,
    relative_error,
    rounding_tolerance,
    worst_element,
)
from nnframe.testing.hints import HINTS_ATTRIBUTE, CheckHints
from nnframe.testing.initializers import check_initializer
from nnframe.testing.kernels import check_kernel
from nnframe.testing.layers import check_layer
from nnframe.testing.losses import check_loss
from nnframe.testing.metrics import check_metric
from nnframe.testing.optimizers import check_optimizer
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.schedules import check_schedule

__all__ = [
    "HINTS_ATTRIBUTE",
    "CheckHints",
    "CheckReport",
    "GradientMismatch",
    "PropertyResult",
    "assert_gradient_matches",
    "assert_layer_gradients",
    "assert_loss_gradient",
    "check_component",
    "check_distribution",
    "check_generic",
    "check_initializer",
    "check_kernel",
    "check_layer",
    "check_loss",
    "check_metric",
    "check_optimizer",
    "check_schedule",
    "components_of",
    "distribution_problems",
    "energy_scale",
    "gradient_mismatch",
    "layer_gradient_errors",
    "layer_gradients",
    "loss_gradient_error",
    "loss_gradients",
    "loss_scale",
    "numerical_gradient",
    "relative_error",
    "rounding_tolerance",
    "worst_element",
]
