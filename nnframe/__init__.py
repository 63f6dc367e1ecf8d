"""nnframe: a neural-network framework on NumPy in which every component is a plugin.

    import nnframe
    net = nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
                           nnframe.layer("dense", 3, 1), nnframe.layer("tanh")])
    net.use("mse", "sgd").fit(x, y, epochs=1000, batch_size=1, learning_rate=0.1)

Importing nnframe loads no plugin: plugins are discovered on the first lookup by name.
"""

from typing import TYPE_CHECKING

from nnframe._version import __version__
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

# The rest of the API is imported on first use (PEP 562), so that `import nnframe` (and so
# `nnframe --help`, and every plugin's import) does not pay for NumPy and the network code
# before it needs them.
_LAZY = {
    "Callback": "nnframe.callbacks",
    "EarlyStopping": "nnframe.callbacks",
    "History": "nnframe.callbacks",
    "ModelCheckpoint": "nnframe.callbacks",
    "Layer": "nnframe.contracts",
    "LayerProtocol": "nnframe.contracts",
    "Loss": "nnframe.contracts",
    "LossProtocol": "nnframe.contracts",
    "Optimizer": "nnframe.contracts",
    "OptimizerProtocol": "nnframe.contracts",
    "Parameter": "nnframe.contracts",
    "one_hot": "nnframe.metrics",
    "load": "nnframe.modelfile",
    "Network": "nnframe.network",
    "get_registry": "nnframe.registry",
    "layer": "nnframe.registry",
    "loss": "nnframe.registry",
    "optimizer": "nnframe.registry",
}

if TYPE_CHECKING:
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
    from nnframe.metrics import one_hot
    from nnframe.modelfile import load
    from nnframe.network import Network
    from nnframe.registry import get_registry, layer, loss, optimizer


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
