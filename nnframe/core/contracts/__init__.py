"""The contracts of every kind of component the core uses, one module per kind.

A component is any object with the members of its kind's `Protocol` (checked by members,
not by class); the base classes (`Layer`, `Loss`, `Optimizer`, ...) are optional and
supply defaults, ``get_config`` from the attrs fields among them (`config_of`). The data
set and ONNX converter contracts live with their code (`nnframe.datasets.contract`,
`nnframe.onnx.contract`).
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
