"""nnframe: a neural-network framework on NumPy in which every component is a plugin.

    import nnframe
    net = nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
                           nnframe.layer("dense", 3, 1), nnframe.layer("tanh")])
    net.use("mse", "sgd").fit(x, y, epochs=1000, batch_size=1, learning_rate=0.1)

Importing nnframe loads no plugin: plugins are discovered on the first lookup by name.
"""

from typing import TYPE_CHECKING

from nnframe._version import __version__
from nnframe.core.hookspecs import hookimpl
from nnframe.errors import (
    AmbiguousComponentError,
    ComponentError,
    ConfigError,
    DataError,
    ExportError,
    MissingExtraError,
    MissingPluginError,
    ModelFileError,
    ModelFileWarning,
    NetworkStateError,
    NNFrameError,
    NonFiniteWeightsWarning,
    PluginError,
    ShapeError,
    TrainingDivergedError,
    UnknownComponentError,
)

# The rest of the API is imported on first use (PEP 562), so that `import nnframe` (and so
# `nnframe --help`, and every plugin's import) does not pay for NumPy and the network code
# before it needs them.
_LAZY = {
    "CSVLogger": "nnframe.callbacks",
    "EarlyStopping": "nnframe.callbacks",
    "History": "nnframe.callbacks",
    "MLflowLogger": "nnframe.callbacks",
    "ModelCheckpoint": "nnframe.callbacks",
    "ProgressDisplay": "nnframe.callbacks",
    "TensorBoard": "nnframe.callbacks",
    "Callback": "nnframe.core.contracts",
    "Converter": "nnframe.core.contracts",
    "ConverterProtocol": "nnframe.core.contracts",
    "Dataset": "nnframe.core.contracts",
    "DataSchema": "nnframe.datasets.schema",
    "FileDataset": "nnframe.datasets.readers",
    "Initializer": "nnframe.core.contracts",
    "InitializerProtocol": "nnframe.core.contracts",
    "Layer": "nnframe.core.contracts",
    "LayerProtocol": "nnframe.core.contracts",
    "Loss": "nnframe.core.contracts",
    "LossProtocol": "nnframe.core.contracts",
    "Metric": "nnframe.core.contracts",
    "MetricProtocol": "nnframe.core.contracts",
    "Optimizer": "nnframe.core.contracts",
    "OptimizerProtocol": "nnframe.core.contracts",
    "Parameter": "nnframe.core.contracts",
    "ParameterGroup": "nnframe.core.contracts",
    "Schedule": "nnframe.core.contracts",
    "ScheduleProtocol": "nnframe.core.contracts",
    "callback": "nnframe.core.builders",
    "converter": "nnframe.core.builders",
    "dataset": "nnframe.core.builders",
    "initializer": "nnframe.core.builders",
    "kernel": "nnframe.core.builders",
    "layer": "nnframe.core.builders",
    "loss": "nnframe.core.builders",
    "metric": "nnframe.core.builders",
    "optimizer": "nnframe.core.builders",
    "schedule": "nnframe.core.builders",
    "one_hot": "nnframe.metrics",
    "load": "nnframe.modelfile.load",
    "Network": "nnframe.core.network",
    "create": "nnframe.core.registry",
    "get_registry": "nnframe.core.registry",
}

if TYPE_CHECKING:
    from nnframe.callbacks import (
        CSVLogger,
        EarlyStopping,
        History,
        MLflowLogger,
        ModelCheckpoint,
        ProgressDisplay,
        TensorBoard,
    )
    from nnframe.core.builders import (
        callback,
        converter,
        dataset,
        initializer,
        kernel,
        layer,
        loss,
        metric,
        optimizer,
        schedule,
    )
    from nnframe.core.contracts import (
        Callback,
        Converter,
        ConverterProtocol,
        Dataset,
        Initializer,
        InitializerProtocol,
        Layer,
        LayerProtocol,
        Loss,
        LossProtocol,
        Metric,
        MetricProtocol,
        Optimizer,
        OptimizerProtocol,
        Parameter,
        ParameterGroup,
        Schedule,
        ScheduleProtocol,
    )
    from nnframe.core.network import Network
    from nnframe.core.registry import create, get_registry
    from nnframe.datasets.readers import FileDataset
    from nnframe.datasets.schema import DataSchema
    from nnframe.metrics import one_hot
    from nnframe.modelfile.load import load


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AmbiguousComponentError",
    "CSVLogger",
    "Callback",
    "ComponentError",
    "ConfigError",
    "Converter",
    "ConverterProtocol",
    "DataError",
    "DataSchema",
    "Dataset",
    "EarlyStopping",
    "ExportError",
    "FileDataset",
    "History",
    "Initializer",
    "InitializerProtocol",
    "Layer",
    "LayerProtocol",
    "Loss",
    "LossProtocol",
    "MLflowLogger",
    "Metric",
    "MetricProtocol",
    "MissingExtraError",
    "MissingPluginError",
    "ModelCheckpoint",
    "ModelFileError",
    "ModelFileWarning",
    "NNFrameError",
    "Network",
    "NetworkStateError",
    "NonFiniteWeightsWarning",
    "Optimizer",
    "OptimizerProtocol",
    "Parameter",
    "ParameterGroup",
    "PluginError",
    "ProgressDisplay",
    "Schedule",
    "ScheduleProtocol",
    "ShapeError",
    "TensorBoard",
    "TrainingDivergedError",
    "UnknownComponentError",
    "__version__",
    "callback",
    "converter",
    "create",
    "dataset",
    "get_registry",
    "hookimpl",
    "initializer",
    "kernel",
    "layer",
    "load",
    "loss",
    "metric",
    "one_hot",
    "optimizer",
    "schedule",
]
