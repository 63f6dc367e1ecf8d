"""The built-in plugin: nnframe's own components, registered through the public hooks.

It is loaded first, as the plugin ``nnframe``, exactly the way a third-party plugin is.
"""

from __future__ import annotations

from nnframe.hookspecs import Register, hookimpl
from nnframe.layers.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from nnframe.layers.dense import Dense
from nnframe.layers.dropout import Dropout
from nnframe.layers.flatten import Flatten
from nnframe.losses.cross_entropy import BinaryCrossEntropy, CrossEntropy
from nnframe.losses.huber import Huber
from nnframe.losses.mae import MeanAbsoluteError
from nnframe.losses.mse import MeanSquaredError
from nnframe.optimizers.adam import Adam, AdamW
from nnframe.optimizers.rmsprop import RMSprop
from nnframe.optimizers.sgd import SGD


@hookimpl
def register_layers(register: Register) -> None:
    register("dense", Dense)
    register("tanh", Tanh)
    register("sigmoid", Sigmoid)
    register("relu", ReLU)
    register("leaky_relu", LeakyReLU)
    register("softmax", Softmax)
    register("dropout", Dropout)
    register("flatten", Flatten)


@hookimpl
def register_losses(register: Register) -> None:
    register("mse", MeanSquaredError)
    register("mae", MeanAbsoluteError)
    register("huber", Huber)
    register("cross_entropy", CrossEntropy)
    register("binary_cross_entropy", BinaryCrossEntropy)


@hookimpl
def register_optimizers(register: Register) -> None:
    register("sgd", SGD)
    register("adam", Adam)
    register("adamw", AdamW)
    register("rmsprop", RMSprop)
