"""The reference workloads, defined once and built for each framework from that one
definition, so nnframe, PyTorch and scikit-learn always train the same network.

- ``seed-mlp``: 784-100-50-10, tanh after each, MSE on one-hot labels, SGD 0.1, batch 32.
- ``mlp``: 784-256-relu-128-relu-10, softmax cross-entropy from logits, Adam 1e-3, batch 128.
- ``cnn``: conv 3x3 1->8, relu, maxpool 2, conv 3x3 8->16, relu, maxpool 2, flatten,
  dense 400->10, softmax cross-entropy, Adam 1e-3, batch 64 (needs nnframe-conv).

Weights start as nnframe's defaults do (Glorot uniform, zero biases) in every framework that
lets us choose (scikit-learn uses its own Glorot-style initialisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]
IMAGE_SHAPE: Shape = (28, 28, 1)
CLASSES = 10


@dataclass(frozen=True)
class LayerSpec:
    """One layer by its nnframe registered name and positional arguments."""

    kind: str
    args: tuple[int, ...] = ()


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple[LayerSpec, ...]
    loss: str  # nnframe name: "mse" (on one-hot targets) or "cross_entropy" (from logits)
    optimizer: str  # nnframe name: "sgd" or "adam"
    learning_rate: float
    batch_size: int
    peers: tuple[str, ...]  # frameworks it is compared with
    plugin: str | None = None  # distribution nnframe needs for it
    description: str = field(default="", compare=False)

    @property
    def one_hot_targets(self) -> bool:
        return self.loss == "mse"


def _layers(*specs: tuple) -> tuple[LayerSpec, ...]:
    return tuple(LayerSpec(kind, tuple(args)) for kind, *args in specs)


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            "seed-mlp",
            _layers(("flatten",), ("dense", 100), ("tanh",), ("dense", 50), ("tanh",),
                    ("dense", 10), ("tanh",)),
            loss="mse", optimizer="sgd", learning_rate=0.1, batch_size=32,
            peers=("torch",),
            description="784-100-50-10 tanh, MSE on one-hot, SGD 0.1, batch 32",
        ),
        Workload(
            "mlp",
            _layers(("flatten",), ("dense", 256), ("relu",), ("dense", 128), ("relu",),
                    ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=128,
            peers=("torch", "sklearn"),
            description="784-256-relu-128-relu-10, cross-entropy, Adam 1e-3, batch 128",
        ),
        Workload(
            "cnn",
            _layers(("conv2d", 8, 3), ("relu",), ("maxpool2d", 2), ("conv2d", 16, 3),
                    ("relu",), ("maxpool2d", 2), ("flatten",), ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=64,
            peers=("torch",), plugin="nnframe-conv",
            description="conv3x3x8-relu-pool2-conv3x3x16-relu-pool2-dense10, "
                        "cross-entropy, Adam 1e-3, batch 64",
        ),
    )
}


# -- shapes and arithmetic ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A layer with its sample shapes and its matrix-multiply work per sample."""

    spec: LayerSpec
    input_shape: Shape
    output_shape: Shape
    macs: int  # multiply-adds of its matrix product, per sample (0: none)


def steps(workload: Workload, input_shape: Shape = IMAGE_SHAPE) -> list[Step]:
    """Every layer of ``workload`` with its input and output shapes (no batch axis)."""
    result = []
    shape = tuple(input_shape)
    for spec in workload.layers:
        out, macs = _propagate(spec, shape)
        result.append(Step(spec, shape, out, macs))
        shape = out
    return result


def _propagate(spec: LayerSpec, shape: Shape) -> tuple[Shape, int]:
    if spec.kind == "dense":
        (units,) = spec.args
        return (*shape[:-1], units), math.prod(shape) * units
    if spec.kind == "flatten":
        return (math.prod(shape),), 0
    if spec.kind == "conv2d":
        filters, kernel = spec.args
        height, width, channels = shape
        out = (height - kernel + 1, width - kernel + 1, filters)
        return out, out[0] * out[1] * kernel * kernel * channels * filters
    if spec.kind == "maxpool2d":
        (pool,) = spec.args
        height, width, channels = shape
        return (height // pool, width // pool, channels), 0
    return shape, 0  # element-wise activations


def matmul_flops(workload: Workload, samples: int, training: bool = True) -> int:
    """FLOPs (2 per multiply-add) of the matrix products of one pass over ``samples``.

    Training counts the forward product, the weight gradient and the input gradient of
    every layer but the first one with weights (whose input gradient no one needs).
    """
    layers = [s for s in steps(workload) if s.macs]
    per_sample = sum(s.macs for s in layers)
    if training:
        per_sample = 3 * per_sample - layers[0].macs
    return 2 * per_sample * samples


def count_parameters(workload: Workload) -> int:
    total = 0
    for step in steps(workload):
        if step.spec.kind == "dense":
            total += (step.input_shape[-1] + 1) * step.output_shape[-1]
        elif step.spec.kind == "conv2d":
            filters, kernel = step.spec.args
            total += (kernel * kernel * step.input_shape[-1] + 1) * filters
    return total


# -- builders ----------------------------------------------------------------------------


def build_nnframe(workload: Workload, seed: int, input_shape: Shape = IMAGE_SHAPE) -> Any:
    """The workload as a built nnframe Network with its loss and optimizer."""
    import nnframe

    layers = []
    for spec in workload.layers:
        if spec.kind == "dense":  # the input size is inferred at build
            layers.append(nnframe.layer("dense", output_size=spec.args[0]))
        else:
            layers.append(nnframe.layer(spec.kind, *spec.args))
    net = nnframe.Network(layers)
    net.use(workload.loss,
            nnframe.optimizer(workload.optimizer, learning_rate=workload.learning_rate))
    return net.build(input_shape, seed=seed)


def build_torch(workload: Workload, seed: int, input_shape: Shape = IMAGE_SHAPE
                ) -> tuple[Any, Any, Any]:
    """The same network in PyTorch (images NCHW), its optimizer and its loss."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    modules = []
    for step in steps(workload, input_shape):
        kind, args = step.spec.kind, step.spec.args
        if kind == "dense":
            modules.append(nn.Linear(step.input_shape[-1], args[0]))
        elif kind == "conv2d":
            modules.append(nn.Conv2d(step.input_shape[-1], args[0], args[1]))
        elif kind == "maxpool2d":
            modules.append(nn.MaxPool2d(args[0]))
        else:
            modules.append({"flatten": nn.Flatten, "tanh": nn.Tanh, "relu": nn.ReLU}[kind]())
        if kind in ("dense", "conv2d"):  # nnframe's defaults: Glorot uniform, zero bias
            nn.init.xavier_uniform_(modules[-1].weight)
            nn.init.zeros_(modules[-1].bias)
    model = nn.Sequential(*modules)
    optimizers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    optimizer = optimizers[workload.optimizer](model.parameters(), lr=workload.learning_rate)
    loss = {"mse": nn.MSELoss, "cross_entropy": nn.CrossEntropyLoss}[workload.loss]()
    return model, optimizer, loss


def build_sklearn(workload: Workload, seed: int) -> Any:
    """scikit-learn's MLPClassifier with the workload's sizes, Adam and batch, for one epoch.

    ``alpha=0``: no L2 penalty, as in the other frameworks; ``max_iter=1``: one epoch.
    """
    from sklearn.neural_network import MLPClassifier

    kinds = [s.spec.kind for s in steps(workload)]
    dense = [s for s in steps(workload) if s.spec.kind == "dense"]
    activations = {k for k in kinds if k in ("relu", "tanh")}
    if (workload.loss != "cross_entropy" or len(activations) != 1
            or set(kinds) - {"flatten", "dense", "relu", "tanh"}):
        raise ValueError(f"{workload.name} is not an MLPClassifier network")
    return MLPClassifier(
        hidden_layer_sizes=tuple(s.output_shape[-1] for s in dense[:-1]),
        activation=activations.pop(), solver=workload.optimizer, alpha=0.0,
        batch_size=workload.batch_size, learning_rate_init=workload.learning_rate,
        max_iter=1, shuffle=True, random_state=seed,
    )
