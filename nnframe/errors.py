"""nnframe's error types: every error a user can cause is an `NNFrameError`.

The CLI turns an `NNFrameError` into one line on stderr and exit status 2; anything
else is a bug (exit 1). Subclasses also derive from the matching built-in type, so
``except ValueError`` keeps working for code that does not know nnframe.
"""

from __future__ import annotations


class NNFrameError(Exception):
    """Base class of every error a user of nnframe can cause and fix."""


class ComponentError(NNFrameError, LookupError):
    """A component name could not be resolved in the registry."""


class UnknownComponentError(ComponentError):
    """No plugin registered a component under this name."""


class AmbiguousComponentError(ComponentError):
    """Several third-party plugins registered the same bare name."""


class PluginError(NNFrameError):
    """A plugin broke the registration contract."""


class DataError(NNFrameError, ValueError):
    """Training or inference data that cannot be used as given."""


class ShapeError(NNFrameError, ValueError):
    """Shapes that do not fit together (data and layer, or layer and layer)."""


class ConfigError(NNFrameError, ValueError):
    """A component or network configured with invalid arguments."""


class NetworkStateError(NNFrameError, RuntimeError):
    """A network used out of order (for example `fit` before `use`)."""


class TrainingDivergedError(NNFrameError, FloatingPointError):
    """The loss became NaN or infinite during training."""


class MissingExtraError(NNFrameError, ImportError):
    """An optional feature whose extra dependency is not installed; the message says
    which extra to install (``pip install 'nnframe[plot]'``, ``[onnx]``, ``[mpi]``)."""


class PathError(NNFrameError, ValueError):
    """A path that no file can be written to as given: empty, a directory's name such as
    ``.``, holding a NUL byte, a name too long, something that is not a regular file (a
    device, a FIFO: never replaced), or one of a command's own inputs."""


class ModelFileError(NNFrameError, ValueError):
    """A model file that cannot be written, read or trusted."""


class MissingPluginError(ModelFileError):
    """A model file needs a component whose plugin distribution is not installed."""


class ExportError(NNFrameError, ValueError):
    """A network that cannot be exported as asked: to ONNX, a layer without a converter,
    or a converter that failed."""


class ModelFileWarning(UserWarning):
    """A model file loaded, but was saved with other versions of its components."""


class NonFiniteWeightsWarning(ModelFileWarning):
    """A model file loaded, but its weights or state hold NaN or infinite values."""
