"""nnframe: a neural-network framework on NumPy in which every component is a plugin.

    import nnframe
    net = nnframe.Network([nnframe.layer("dense", 2, 3), nnframe.layer("tanh"),
                           nnframe.layer("dense", 3, 1), nnframe.layer("tanh")])
    net.use("mse", "sgd").fit(x, y, epochs=1000, batch_size=1, learning_rate=0.1)

Importing nnframe loads no plugin: plugins are discovered on the first lookup by name.
"""

import importlib

from nnframe._version import __version__ as __version__

# Every public name, written once: the module that defines it, and the name. The errors
# and ``hookimpl`` are imported at once (``except nnframe.DataError`` and plugins'
# ``@nnframe.hookimpl`` need no NumPy); the rest on first use (PEP 562), so that
# ``import nnframe`` (and so ``nnframe --help``, and every plugin's import) does not pay
# for NumPy and the network code before it needs them.
_PUBLIC: dict[str, tuple[str, ...]] = {
    "nnframe.errors": (
        "AmbiguousComponentError", "ComponentError", "ConfigError", "DataError", "ExportError",
        "MissingExtraError", "MissingPluginError", "ModelFileError", "ModelFileWarning",
        "NetworkStateError", "NNFrameError", "NonFiniteWeightsWarning", "PluginError",
        "ShapeError", "TrainingDivergedError", "UnknownComponentError",
    ),
    "nnframe.core.hookspecs": ("hookimpl",),
    "nnframe.callbacks": (
        "CSVLogger", "EarlyStopping", "History", "MLflowLogger", "ModelCheckpoint",
        "ProgressDisplay", "TensorBoard",
    ),
    "nnframe.core.contracts": (
        "Callback", "Initializer", "InitializerProtocol", "Layer", "LayerProtocol", "Loss",
        "LossProtocol", "Metric", "MetricProtocol", "Optimizer", "OptimizerProtocol",
        "Parameter", "ParameterGroup", "Schedule", "ScheduleProtocol",
    ),
    "nnframe.datasets.contract": ("Dataset",),
    "nnframe.onnx.contract": ("Converter", "ConverterProtocol"),
    "nnframe.datasets.schema": ("DataSchema",),
    "nnframe.datasets.readers": ("FileDataset",),
    "nnframe.core.registry": (
        "callback", "converter", "create", "dataset", "get_registry", "initializer", "layer",
        "loss", "metric", "optimizer", "schedule",
    ),
    "nnframe.speed.kernels": ("kernel",),
    "nnframe.metrics": ("one_hot",),
    "nnframe.modelfile.load": ("load",),
    "nnframe.core.network": ("Network",),
}
_EAGER = ("nnframe.errors", "nnframe.core.hookspecs")

_LAZY = {name: module for module, names in _PUBLIC.items() if module not in _EAGER
         for name in names}
for _module in _EAGER:
    globals().update({name: getattr(importlib.import_module(_module), name)
                      for name in _PUBLIC[_module]})
del _module

__all__ = sorted(["__version__", *(name for names in _PUBLIC.values() for name in names)])


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nnframe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
