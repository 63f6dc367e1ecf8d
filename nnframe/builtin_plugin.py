"""The built-in plugin: nnframe's own components, registered through the public hooks.

It is loaded first, as the plugin ``nnframe``, exactly the way a third-party plugin is.
"""

from __future__ import annotations

from nnframe.hookspecs import Register, hookimpl
from nnframe.layers.activations import Tanh
from nnframe.layers.dense import Dense
from nnframe.losses.mse import MeanSquaredError
from nnframe.optimizers.sgd import SGD


@hookimpl
def register_layers(register: Register) -> None:
    register("dense", Dense)
    register("tanh", Tanh)


@hookimpl
def register_losses(register: Register) -> None:
    register("mse", MeanSquaredError)


@hookimpl
def register_optimizers(register: Register) -> None:
    register("sgd", SGD)
