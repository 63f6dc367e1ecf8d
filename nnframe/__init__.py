"""nnframe: a neural-network framework on NumPy in which every component is a plugin.

    import nnframe
    net = nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
                           nnframe.layer("dense", 3, 1), nnframe.layer("tanh")])
    net.use("mse", "sgd").fit(x, y, epochs=1000, batch_size=1, learning_rate=0.1)

Importing nnframe loads no plugin: plugins are discovered on the first lookup by name.
"""

from nnframe._version import __version__
from nnframe.callbacks import Callback, EarlyStopping, History, ModelCheckpoint
from nnframe.contracts import (
    Layer,
    LayerProtocol,
    Loss,
    LossProtocol,
    Optimizer,
    OptimizerProtocol,
    Parameter,
)
from nnframe.errors import (
    AmbiguousComponentError,
    ComponentError,
    ConfigError,
    DataError,
    MissingPluginError,
    ModelFileError,
    ModelFileWarning,
    NetworkStateError,
    NNFrameError,
    PluginError,
    ShapeError,
    TrainingDivergedError,
    UnknownComponentError,
)
from nnframe.hookspecs import hookimpl
from nnframe.metrics import one_hot
from nnframe.modelfile import load
from nnframe.network import Network
from nnframe.registry import get_registry, layer, loss, optimizer

__all__ = [
    "AmbiguousComponentError",
    "Callback",
    "ComponentError",
    "ConfigError",
    "DataError",
    "EarlyStopping",
    "History",
    "Layer",
    "LayerProtocol",
    "Loss",
    "LossProtocol",
    "MissingPluginError",
    "ModelCheckpoint",
    "ModelFileError",
    "ModelFileWarning",
    "NNFrameError",
    "Network",
    "NetworkStateError",
    "Optimizer",
    "OptimizerProtocol",
    "Parameter",
    "PluginError",
    "ShapeError",
    "TrainingDivergedError",
    "UnknownComponentError",
    "__version__",
    "get_registry",
    "hookimpl",
    "layer",
    "load",
    "loss",
    "one_hot",
    "optimizer",
]
