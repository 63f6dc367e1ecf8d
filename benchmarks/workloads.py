"""The reference workloads, defined once and built for each framework from that one
definition, so nnframe, PyTorch and scikit-learn always train the same network.

- ``seed-mlp``: 784-100-50-10, tanh after each, MSE on one-hot labels, SGD 0.1, batch 32.
- ``mlp``: 784-256-relu-128-relu-10, softmax cross-entropy from logits, Adam 1e-3, batch 128.
- ``cnn``: conv 3x3 1->8, relu, maxpool 2, conv 3x3 8->16, relu, maxpool 2, flatten,
  dense 400->10, softmax cross-entropy, Adam 1e-3, batch 64 (needs nnframe-conv).
- ``resmlp``: flatten, dense 784->256, batch_norm, relu, residual[dense 256->256,
  batch_norm, relu, dense 256->256, batch_norm], relu, dense 256->10; softmax
  cross-entropy, Adam 1e-3, batch 128.
- ``seq-mnist``: each image as 28 time steps of 28 pixels; lstm 128, dense 128->10; softmax
  cross-entropy, Adam 1e-3, batch 128 (needs nnframe-recurrent).
- ``seq-mnist-transformer``: 28 row tokens of 28 pixels, dense 28->64,
  positional_embedding(28), 2 x transformer_encoder(num_heads=4, feedforward_size=128,
  dropout=0.0), sequence_pool("mean"), dense 64->10; softmax cross-entropy, Adam 1e-3,
  batch 128 (needs nnframe-attention).

A new workload is one `Workload` entry in `WORKLOADS`; a new kind of layer is one
`LayerKind` entry in `LAYER_KINDS` (its output shape, its matrix products for the GEMM
floor, its parameter count and its PyTorch module). Weights start as nnframe's defaults do
(Glorot uniform, zero biases) in every framework that lets us choose (scikit-learn uses
its own Glorot-style initialisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Shape = tuple[int, ...]
IMAGE_SHAPE: Shape = (28, 28, 1)
CLASSES = 10
TEST_SAMPLES = 10_000


@dataclass(frozen=True)
class LayerSpec:
    """One layer by its nnframe registered name and positional arguments; a composite
    (``residual``) holds its inner layers."""

    kind: str
    args: tuple[Any, ...] = ()
    inner: tuple[LayerSpec, ...] = ()


@dataclass(frozen=True)
class Workload:
    name: str
    layers: tuple[LayerSpec, ...]
    loss: str  # nnframe name: "mse" (on one-hot targets) or "cross_entropy" (from logits)
    optimizer: str  # nnframe name: "sgd" or "adam"
    learning_rate: float
    batch_size: int
    peers: tuple[str, ...]  # frameworks it is compared with (see benchmarks.frameworks)
    plugin: str | None = None  # distribution nnframe needs for it
    description: str = field(default="", compare=False)
    #: one sample as the networks read it: the (28, 28, 1) images, or a reshape of them
    input_shape: Shape = IMAGE_SHAPE

    @property
    def one_hot_targets(self) -> bool:
        return self.loss == "mse"


def _layers(*specs: tuple) -> tuple[LayerSpec, ...]:
    """``("dense", 256)`` as a LayerSpec; ``("residual", [(...), ...])`` with inner layers."""
    built = []
    for kind, *args in specs:
        if args and isinstance(args[0], list):
            built.append(LayerSpec(kind, (), _layers(*args[0])))
        else:
            built.append(LayerSpec(kind, tuple(args)))
    return tuple(built)


TORCH_PEERS = ("torch", "torch-default")

WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload(
            "seed-mlp",
            _layers(("flatten",), ("dense", 100), ("tanh",), ("dense", 50), ("tanh",),
                    ("dense", 10), ("tanh",)),
            loss="mse", optimizer="sgd", learning_rate=0.1, batch_size=32,
            peers=TORCH_PEERS,
            description="784-100-50-10 tanh, MSE on one-hot, SGD 0.1, batch 32",
        ),
        Workload(
            "mlp",
            _layers(("flatten",), ("dense", 256), ("relu",), ("dense", 128), ("relu",),
                    ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=128,
            peers=(*TORCH_PEERS, "sklearn"),
            description="784-256-relu-128-relu-10, cross-entropy, Adam 1e-3, batch 128",
        ),
        Workload(
            "cnn",
            _layers(("conv2d", 8, 3), ("relu",), ("maxpool2d", 2), ("conv2d", 16, 3),
                    ("relu",), ("maxpool2d", 2), ("flatten",), ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=64,
            peers=TORCH_PEERS, plugin="nnframe-conv",
            description="conv3x3x8-relu-pool2-conv3x3x16-relu-pool2-dense10, "
                        "cross-entropy, Adam 1e-3, batch 64",
        ),
        Workload(
            "resmlp",
            _layers(("flatten",), ("dense", 256), ("batch_norm",), ("relu",),
                    ("residual", [("dense", 256), ("batch_norm",), ("relu",),
                                  ("dense", 256), ("batch_norm",)]),
                    ("relu",), ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=128,
            peers=TORCH_PEERS,
            description="784-256-bn-relu-residual[256-bn-relu-256-bn]-relu-10, "
                        "cross-entropy, Adam 1e-3, batch 128",
        ),
        Workload(
            "seq-mnist",
            _layers(("lstm", 128), ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=128,
            peers=TORCH_PEERS, plugin="nnframe-recurrent", input_shape=(28, 28),
            description="28 steps of 28 pixels: lstm 128, dense 10, cross-entropy, "
                        "Adam 1e-3, batch 128",
        ),
        Workload(
            "seq-mnist-transformer",
            _layers(("dense", 64), ("positional_embedding", 28),
                    ("transformer_encoder", 4, 128, 0.0), ("transformer_encoder", 4, 128, 0.0),
                    ("sequence_pool", "mean"), ("dense", 10)),
            loss="cross_entropy", optimizer="adam", learning_rate=1e-3, batch_size=128,
            peers=TORCH_PEERS, plugin="nnframe-attention", input_shape=(28, 28),
            description="28 tokens of 28 pixels: dense 64, positions, 2 encoder blocks "
                        "(4 heads, ff 128), mean pool, dense 10, cross-entropy, Adam 1e-3, "
                        "batch 128",
        ),
    )
}


# -- layer kinds -------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """One matrix product of a layer per sample: (rows, inner) @ (inner, columns)."""

    rows: int
    inner: int
    columns: int


@dataclass(frozen=True)
class LayerKind:
    """What the suite needs to know about one kind of layer, from its args and input."""

    output: Callable[[tuple, Shape], Shape]
    products: Callable[[tuple, Shape, Shape], list[Product]] = lambda args, i, o: []
    parameters: Callable[[tuple, Shape, Shape], int] = lambda args, i, o: 0
    torch: Callable[[tuple, Shape], Any] | None = None  # the nn.Module; None: see below


def _conv_output(args: tuple, shape: Shape) -> Shape:
    filters, kernel = args
    height, width, _ = shape
    return (height - kernel + 1, width - kernel + 1, filters)


def _torch_module(name: str, *args: Any) -> Callable[[tuple, Shape], Any]:
    def build(_: tuple, __: Shape) -> Any:
        from torch import nn

        return getattr(nn, name)(*args)
    return build


def _torch_dense(args: tuple, shape: Shape) -> Any:
    from torch import nn

    return nn.Linear(shape[-1], args[0])


def _torch_conv(args: tuple, shape: Shape) -> Any:
    from torch import nn

    return nn.Conv2d(shape[-1], args[0], args[1])


def _torch_pool(args: tuple, shape: Shape) -> Any:
    from torch import nn

    return nn.MaxPool2d(args[0])


def _torch_batch_norm(args: tuple, shape: Shape) -> Any:
    from torch import nn

    return nn.BatchNorm1d(shape[-1])  # momentum 0.1, eps 1e-5: nnframe's defaults too


def _torch_residual(spec: LayerSpec, shape: Shape) -> Any:
    from torch import nn

    class Residual(nn.Module):
        """y = x + f(x), as nnframe's residual."""

        def __init__(self, body: nn.Module) -> None:
            super().__init__()
            self.body = body

        def forward(self, x: Any) -> Any:
            return x + self.body(x)

    return Residual(nn.Sequential(*_torch_modules(spec.inner, shape)))


def _torch_lstm(args: tuple, shape: Shape) -> Any:
    """nn.LSTM's last hidden state, with nnframe-recurrent's parameters: PyTorch's own
    U(-1/sqrt(units), 1/sqrt(units)) for the weights, and one bias (the sum of two such
    draws, as nnframe keeps b_ih + b_hh as one), bias_hh frozen at zero."""
    import torch
    from torch import nn

    class LastState(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(shape[-1], args[0], batch_first=True)
            bound = 1.0 / args[0] ** 0.5
            with torch.no_grad():
                self.lstm.bias_ih_l0.uniform_(-bound, bound)
                self.lstm.bias_ih_l0.add_(torch.empty_like(self.lstm.bias_ih_l0)
                                          .uniform_(-bound, bound))
                self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_hh_l0.requires_grad_(False)

        def forward(self, x: Any) -> Any:
            return self.lstm(x)[0][:, -1]

    return LastState()


def _torch_positions(args: tuple, shape: Shape) -> Any:
    """A learned (max_length, F) table added to the steps, drawn from N(0, 0.02) as
    nnframe-attention's positional_embedding."""
    import torch
    from torch import nn

    class Positions(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = nn.Parameter(0.02 * torch.randn(args[0], shape[-1]))

        def forward(self, x: Any) -> Any:
            return x + self.weights[: x.shape[1]]

    return Positions()


def _torch_encoder(args: tuple, shape: Shape) -> Any:
    """nn.TransformerEncoderLayer (batch_first, post-norm, ReLU), PyTorch's own
    initialisation, as nnframe-attention's transformer_encoder draws it."""
    from torch import nn

    heads, feedforward, dropout = args
    return nn.TransformerEncoderLayer(shape[-1], heads, feedforward, dropout=dropout,
                                      batch_first=True)


def _torch_mean_pool(args: tuple, shape: Shape) -> Any:
    from torch import nn

    class MeanPool(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.mean(dim=1)

    return MeanPool()


def _encoder_products(args: tuple, i: Shape, o: Shape) -> list[Product]:
    """Per sample: the packed in-projection, scores and context over every head (each
    (time, F) by (F, time) in all), the out-projection and the two feed-forward layers."""
    time, features = i
    feedforward = args[1]
    return [Product(time, features, 3 * features), Product(time, features, time),
            Product(time, time, features), Product(time, features, features),
            Product(time, features, feedforward), Product(time, feedforward, features)]


def _encoder_parameters(args: tuple, i: Shape, o: Shape) -> int:
    features, feedforward = i[-1], args[1]
    attention = 4 * features * features + 4 * features
    return attention + 2 * features * feedforward + feedforward + features + 4 * features


LAYER_KINDS: dict[str, LayerKind] = {
    "dense": LayerKind(
        output=lambda args, shape: (*shape[:-1], args[0]),
        products=lambda args, i, o: [Product(math.prod(i[:-1]), i[-1], args[0])],
        parameters=lambda args, i, o: (i[-1] + 1) * args[0],
        torch=_torch_dense,
    ),
    "conv2d": LayerKind(
        output=_conv_output,
        products=lambda args, i, o: [Product(o[0] * o[1], args[1] ** 2 * i[-1], args[0])],
        parameters=lambda args, i, o: (args[1] ** 2 * i[-1] + 1) * args[0],
        torch=_torch_conv,
    ),
    "maxpool2d": LayerKind(
        output=lambda args, shape: (shape[0] // args[0], shape[1] // args[0], shape[2]),
        torch=_torch_pool,
    ),
    "flatten": LayerKind(output=lambda args, shape: (math.prod(shape),),
                         torch=_torch_module("Flatten")),
    "relu": LayerKind(output=lambda args, shape: shape, torch=_torch_module("ReLU")),
    "tanh": LayerKind(output=lambda args, shape: shape, torch=_torch_module("Tanh")),
    "batch_norm": LayerKind(output=lambda args, shape: shape,
                            parameters=lambda args, i, o: 2 * i[-1],
                            torch=_torch_batch_norm),
    "lstm": LayerKind(
        output=lambda args, shape: (args[0],),
        # the input projection of every step, and the recurrent product of every step
        products=lambda args, i, o: [Product(i[0], i[1], 4 * args[0]),
                                     Product(i[0], args[0], 4 * args[0])],
        parameters=lambda args, i, o: 4 * args[0] * (i[1] + args[0] + 1),
        torch=_torch_lstm,
    ),
    "residual": LayerKind(output=lambda args, shape: shape),  # see steps() and _inner
    "positional_embedding": LayerKind(output=lambda args, shape: shape,
                                      parameters=lambda args, i, o: args[0] * i[-1],
                                      torch=_torch_positions),
    "transformer_encoder": LayerKind(output=lambda args, shape: shape,
                                     products=_encoder_products,
                                     parameters=_encoder_parameters, torch=_torch_encoder),
    "sequence_pool": LayerKind(output=lambda args, shape: (shape[-1],),
                               torch=_torch_mean_pool),
}


# -- shapes and arithmetic ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A layer with its sample shapes and its matrix products per sample."""

    spec: LayerSpec
    input_shape: Shape
    output_shape: Shape
    products: tuple[Product, ...]

    @property
    def macs(self) -> int:
        """Multiply-adds of its matrix products, per sample (0: none)."""
        return sum(p.rows * p.inner * p.columns for p in self.products)


def steps(workload: Workload, input_shape: Shape | None = None) -> list[Step]:
    """Every layer of ``workload`` with its input and output shapes (no batch axis); a
    composite's matrix products are its inner layers'."""
    return _steps(workload.layers, input_shape or workload.input_shape)


def _steps(layers: tuple[LayerSpec, ...], input_shape: Shape) -> list[Step]:
    result = []
    shape = tuple(input_shape)
    for spec in layers:
        kind = LAYER_KINDS[spec.kind]
        out = tuple(kind.output(spec.args, shape))
        products = tuple(kind.products(spec.args, shape, out))
        if spec.inner:
            products = tuple(p for s in _steps(spec.inner, shape) for p in s.products)
        result.append(Step(spec, shape, out, products))
        shape = out
    return result


def _parameters(layers: tuple[LayerSpec, ...], input_shape: Shape) -> int:
    total = 0
    for step in _steps(layers, input_shape):
        if step.spec.inner:
            total += _parameters(step.spec.inner, step.input_shape)
        else:
            kind = LAYER_KINDS[step.spec.kind]
            total += kind.parameters(step.spec.args, step.input_shape, step.output_shape)
    return total


@dataclass(frozen=True)
class Gemm:
    """One matrix product of a pass over a batch: (m, k) @ (k, n), with its role."""

    m: int
    k: int
    n: int
    role: str  # "forward", "weights" (x^T dY) or "input" (dY W^T)

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n


def batch_gemms(workload: Workload, batch: int, training: bool = True) -> list[Gemm]:
    """The matrix products of one batch, as nnframe's and PyTorch's layers compute them.

    Training: the forward product, the weight gradient and the input gradient of every
    layer but the first one with weights (whose input gradient no one needs).
    """
    gemms = []
    first = True
    for step in steps(workload):
        for p in step.products:
            rows = p.rows * batch
            gemms.append(Gemm(rows, p.inner, p.columns, "forward"))
            if training:
                gemms.append(Gemm(p.inner, rows, p.columns, "weights"))
                if not first:
                    gemms.append(Gemm(rows, p.columns, p.inner, "input"))
        first = first and not step.products
    return gemms


def epoch_batches(samples: int, batch: int) -> dict[int, int]:
    """{batch size: how many batches} of one pass over ``samples``."""
    full, last = divmod(samples, batch)
    sizes = {batch: full} if full else {}
    if last:
        sizes[last] = sizes.get(last, 0) + 1
    return sizes


def matmul_flops(workload: Workload, samples: int, training: bool = True) -> int:
    """FLOPs (2 per multiply-add) of the matrix products of one pass over ``samples``."""
    return sum(g.flops for g in batch_gemms(workload, samples, training))


def count_parameters(workload: Workload) -> int:
    """Trainable parameters (state such as running statistics is not counted)."""
    return _parameters(workload.layers, workload.input_shape)


# -- builders ----------------------------------------------------------------------------


def _nnframe_layers(layers: tuple[LayerSpec, ...]) -> list[Any]:
    import nnframe

    built = []
    for spec in layers:
        if spec.inner:
            built.append(nnframe.layer(spec.kind, layers=_nnframe_layers(spec.inner)))
        elif spec.kind == "dense":  # the input size is inferred at build
            built.append(nnframe.layer("dense", output_size=spec.args[0]))
        else:
            built.append(nnframe.layer(spec.kind, *spec.args))
    return built


def build_nnframe(workload: Workload, seed: int, input_shape: Shape | None = None) -> Any:
    """The workload as a built nnframe Network with its loss and optimizer."""
    import nnframe

    net = nnframe.Network(_nnframe_layers(workload.layers))
    input_shape = input_shape or workload.input_shape
    net.use(workload.loss,
            nnframe.optimizer(workload.optimizer, learning_rate=workload.learning_rate))
    return net.build(input_shape, seed=seed)


#: PyTorch's optimizer settings: "fused" is its best on a CPU (one multi-tensor kernel per
#: step); "default" is what ``torch.optim.Adam(params)`` does on a CPU, a Python loop over
#: the parameters.
TORCH_SETTINGS = ("fused", "default")


def _torch_modules(layers: tuple[LayerSpec, ...], input_shape: Shape) -> list[Any]:
    modules = []
    for step in _steps(layers, input_shape):
        if step.spec.inner:
            modules.append(_torch_residual(step.spec, step.input_shape))
        else:
            modules.append(LAYER_KINDS[step.spec.kind].torch(step.spec.args, step.input_shape))
    return modules


def build_torch(workload: Workload, seed: int, input_shape: Shape | None = None,
                setting: str = "fused") -> tuple[Any, Any, Any]:
    """The same network in PyTorch (images NCHW), its optimizer and its loss."""
    import torch
    from torch import nn

    if setting not in TORCH_SETTINGS:
        raise ValueError(f"setting must be one of {TORCH_SETTINGS}, got {setting!r}")
    torch.manual_seed(seed)
    model = nn.Sequential(*_torch_modules(workload.layers, input_shape or workload.input_shape))
    # transformer blocks keep PyTorch's own initialisation, which nnframe-attention follows
    own = {id(m) for block in model.modules() if isinstance(block, nn.TransformerEncoderLayer)
           for m in block.modules()}
    for module in model.modules():  # nnframe's defaults: Glorot uniform, zero bias
        if isinstance(module, (nn.Linear, nn.Conv2d)) and id(module) not in own:
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch_optimizer(workload.optimizer, trainable, workload.learning_rate,
                                setting)
    loss = {"mse": nn.MSELoss, "cross_entropy": nn.CrossEntropyLoss}[workload.loss]()
    return model, optimizer, loss


def torch_optimizer(name: str, parameters: Any, learning_rate: float, setting: str,
                    **options: Any) -> Any:
    """torch.optim's optimizer for an nnframe optimizer name, in the given setting."""
    import torch

    classes = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop}
    if setting == "fused":
        # RMSprop has no fused CPU kernel: its best is the multi-tensor (foreach) one.
        options["foreach" if name == "rmsprop" else "fused"] = True
    elif setting == "foreach":
        options["foreach"] = True
    return classes[name](parameters, lr=learning_rate, **options)


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
