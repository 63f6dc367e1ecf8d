"""Building components by registered name: ``nnframe.layer("dense", 784, 100)`` and friends.

Each function looks the name up in the registry (bare, or ``distribution:name``), checks the
arguments against the factory's signature and calls it. The object built is remembered as
that registered component, so that it can be saved and rebuilt under its name whatever
kind of factory made it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nnframe.core.registry import create

if TYPE_CHECKING:
    from nnframe.core.contracts import (
        Callback,
        ConverterProtocol,
        Dataset,
        InitializerProtocol,
        LayerProtocol,
        LossProtocol,
        MetricProtocol,
        OptimizerProtocol,
        ScheduleProtocol,
    )


def layer(name: str, *args: Any, **kwargs: Any) -> LayerProtocol:
    """A layer by registered name: ``nnframe.layer("dense", 784, 100)``."""
    return create("layer", name, *args, **kwargs)


def loss(name: str, **kwargs: Any) -> LossProtocol:
    """A loss by registered name: ``nnframe.loss("cross_entropy")``."""
    return create("loss", name, **kwargs)


def optimizer(name: str, **kwargs: Any) -> OptimizerProtocol:
    """An optimizer by registered name: ``nnframe.optimizer("sgd", learning_rate=0.1)``."""
    return create("optimizer", name, **kwargs)


def initializer(name: str, **kwargs: Any) -> InitializerProtocol:
    """An initializer by registered name: ``nnframe.initializer("he_normal")``."""
    return create("initializer", name, **kwargs)


def metric(name: str, **kwargs: Any) -> MetricProtocol:
    """A metric by registered name: ``nnframe.metric("top_k_accuracy", k=3)``."""
    return create("metric", name, **kwargs)


def schedule(name: str, **kwargs: Any) -> ScheduleProtocol:
    """A learning-rate schedule by registered name: ``nnframe.schedule("cosine")``."""
    return create("schedule", name, **kwargs)


def callback(name: str, **kwargs: Any) -> Callback:
    """A training callback by registered name: ``nnframe.callback("early_stopping")``."""
    return create("callback", name, **kwargs)


def dataset(name: str, **kwargs: Any) -> Dataset:
    """A data set by registered name: ``nnframe.dataset("mnist_sample").load("train")``."""
    return create("dataset", name, **kwargs)


def converter(name: str, **kwargs: Any) -> ConverterProtocol:
    """An ONNX converter by registered name (that of the layer it converts):
    ``nnframe.converter("dense")``. `nnframe.onnx` finds them itself when exporting."""
    return create("converter", name, **kwargs)


def kernel(name: str) -> Callable[..., None]:
    """A named kernel as this process runs it: a plugin's version that passes its
    check, or the NumPy reference (`nnframe.speed.kernels`): ``nnframe.kernel("adam_step")``."""
    from nnframe.speed.kernels import use

    return use(name)
