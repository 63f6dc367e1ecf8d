"""The contracts of every kind of component, one module per kind.

A component is any object with the members of its kind's `Protocol` (checked by members,
not by class); the base classes (`Layer`, `Loss`, `Optimizer`, `Initializer`, `Metric`,
`Schedule`, `Callback`) are optional and supply defaults. The contracts of the kinds the
core does not use itself live beside the code that does: data sets in
`nnframe.datasets.contract`, ONNX converters in `nnframe.onnx.contract`.
Components are usually attrs classes whose ``init`` fields are their constructor
arguments, so ``get_config`` comes free (`config_of`).
"""

from nnframe.core.contracts.callback import Callback
from nnframe.core.contracts.config import config_of, json_safe
from nnframe.core.contracts.initializer import Initializer, InitializerProtocol
from nnframe.core.contracts.layer import Layer, LayerProtocol, Shape
from nnframe.core.contracts.loss import Loss, LossProtocol, accepts_sample_weight
from nnframe.core.contracts.metric import Metric, MetricProtocol
from nnframe.core.contracts.optimizer import Optimizer, OptimizerProtocol, Parameter, ParameterGroup
from nnframe.core.contracts.schedule import Schedule, ScheduleProtocol

__all__ = [
    "Callback", "Initializer", "InitializerProtocol", "Layer", "LayerProtocol", "Loss",
    "LossProtocol", "Metric", "MetricProtocol", "Optimizer", "OptimizerProtocol",
    "Parameter", "ParameterGroup", "Schedule", "ScheduleProtocol", "Shape",
    "accepts_sample_weight", "config_of", "json_safe",
]
