"""The Sequential model: layers in order, trained by mini-batch gradient descent.

Data flows forward layer by layer; the loss gives dE/dY for the last layer; each layer's
backward fills its parameter gradients and returns dE/dX for the layer before; the optimizer
then updates every parameter in place. Everything is vectorised over the batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnframe import registry
from nnframe.callbacks import Callback, History, progress_callback
from nnframe.contracts import LayerProtocol, LossProtocol, OptimizerProtocol, Parameter, Shape
from nnframe.errors import (
    ConfigError,
    DataError,
    NetworkStateError,
    NNFrameError,
    ShapeError,
    TrainingDivergedError,
)
from nnframe.inputs import as_inputs, as_targets, check_same_length
from nnframe.metrics import ClassTargets, class_targets

DTYPES = ("float32", "float64")
PREDICT_CHUNK = 4096


def layer_name(layer: object) -> str:
    """The registered name of a layer (``dense``), else its class name."""
    component = registry.get_registry().find("layer", type(layer))
    return component.name if component is not None else type(layer).__name__


class Network:
    """A sequence of layers trained together (Keras' Sequential).

    >>> net = Network([layer("dense", 2, 3), layer("tanh"), layer("dense", 3, 1)])
    >>> net.use("mse", "sgd").fit(x, y, epochs=100)  # doctest: +SKIP
    """

    def __init__(self, layers: Iterable[LayerProtocol] | None = None, *,
                 dtype: str = "float32") -> None:
        if str(np.dtype(dtype)) not in DTYPES:
            raise ConfigError(f"Network dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        self.layers: list[LayerProtocol] = []
        self.loss: LossProtocol | None = None
        self.optimizer: OptimizerProtocol | None = None
        self.input_shape: Shape | None = None
        self.rng = np.random.default_rng()
        self.stop_training = False
        #: Epochs trained so far: `fit` continues from here and checkpoints record it.
        self.epoch = 0
        for layer in layers or ():
            self.add(layer)

    # -- assembling ----------------------------------------------------------------------

    def add(self, layer: LayerProtocol) -> Network:
        """Append a layer; a built network takes no new layers."""
        if self.built:
            raise NetworkStateError("the network is already built; add layers before "
                                    "build() or fit(), or start a new Network")
        missing = [m for m in ("build", "output_shape", "forward", "backward", "params", "grads",
                               "get_config") if not hasattr(layer, m)]
        if missing:
            raise ConfigError(f"layer {len(self.layers)} ({type(layer).__name__}) is not a "
                              f"layer: it lacks {', '.join(missing)} (see nnframe.Layer)")
        self.layers.append(layer)
        return self

    def use(self, loss: str | LossProtocol,
            optimizer: str | OptimizerProtocol | None = None) -> Network:
        """Choose the loss and optimizer, as objects or registered names."""
        self.loss = registry.loss(loss) if isinstance(loss, str) else loss
        if isinstance(optimizer, str):
            optimizer = registry.optimizer(optimizer)
        self.optimizer = optimizer
        return self

    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def build(self, input_shape: Sequence[int], seed: int | None = None) -> Network:
        """Create every layer's parameters for one sample's shape (no batch axis)."""
        shape = tuple(int(s) for s in input_shape)
        self.rng = np.random.default_rng(seed)
        self._chain_shapes(shape, build=True)
        self.input_shape = shape
        return self

    def _chain_shapes(self, shape: Shape, build: bool) -> Shape:
        if not self.layers:
            raise NetworkStateError("the network has no layers; add() some first")
        for index, layer in enumerate(self.layers):
            try:
                if build:
                    layer.build(shape, self.rng, self.dtype)
                shape = tuple(layer.output_shape(shape))
            except NNFrameError as exc:
                raise type(exc)(f"layer {index} ({layer_name(layer)}): {exc}") from None
        return shape

    @property
    def output_shape(self) -> Shape:
        self._require_built()
        return self._chain_shapes(self.input_shape, build=False)

    def parameters(self) -> list[Parameter]:
        """Every trainable array with its gradient, keyed ``"<layer index>.<name>"``."""
        return [
            Parameter(f"{index}.{name}", value, layer.grads[name])
            for index, layer in enumerate(self.layers)
            for name, value in layer.params.items()
        ]

    def count_params(self) -> int:
        return sum(p.value.size for p in self.parameters())

    def _require_built(self) -> None:
        if not self.built:
            raise NetworkStateError("the network is not built; call build(input_shape) or fit()")

    # -- forward and backward ------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    # -- training ------------------------------------------------------------------------

    def fit(
        self,
        x: Any,
        y: Any,
        epochs: int = 1,
        batch_size: int = 32,
        learning_rate: float | None = None,
        shuffle: bool = True,
        seed: int | None = None,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        callbacks: Sequence[Callback] | None = None,
        verbose: int = 1,
        initial_epoch: int = 0,
    ) -> History:
        """Train up to epoch ``epochs``, starting at ``initial_epoch`` (0: a fresh run).

        ``learning_rate`` without an optimizer means SGD at that rate, as in the seed; with
        one, it sets the optimizer's rate. Everything is checked before the first batch.
        """
        optimizer = self._training_optimizer(learning_rate)
        _check_int("epochs", epochs, minimum=0)
        _check_int("batch_size", batch_size, minimum=1)
        x = as_inputs(x, self.dtype, "x")
        y = as_targets(y, self.dtype, "y")
        check_same_length(x, y)
        if validation_data is None and validation_split:
            x, y, validation_data = _split(x, y, validation_split)
        if not self.built:
            self.build(x.shape[1:], seed=seed)
        elif seed is not None:
            self.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
        self._check_inputs(x)
        output_shape = self.output_shape
        self._check_targets(y, output_shape, "y")
        validation = None
        if validation_data is not None:
            validation = self._validation_arrays(validation_data, output_shape)
        targets = class_targets(y, output_shape, self._loss_takes_logits())

        _check_int("initial_epoch", initial_epoch, minimum=0)
        start = int(initial_epoch)
        history = History()
        display = progress_callback(verbose)
        all_callbacks = [history, *(callbacks or ()), *([display] if display else [])]
        for callback in all_callbacks:
            callback.set_network(self)
        batches = math.ceil(len(x) / batch_size)
        self.stop_training = False
        info = {"epochs": epochs, "batches": batches, "samples": len(x)}
        for callback in all_callbacks:
            callback.on_train_begin(info)
        try:
            for epoch in range(start, epochs):
                for callback in all_callbacks:
                    callback.on_epoch_begin(epoch, {})
                logs = self._train_epoch(x, y, targets, batch_size, shuffle, optimizer,
                                         epoch, all_callbacks)
                if validation is not None and not self.stop_training:
                    scores = self.evaluate(*validation)
                    logs.update({f"val_{key}": value for key, value in scores.items()})
                if self.stop_training and logs.get("batches_done", batches) < batches:
                    break  # interrupted mid-epoch: the epoch does not count
                logs.pop("batches_done", None)
                self.epoch = epoch + 1
                for callback in all_callbacks:
                    callback.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            for callback in all_callbacks:
                callback.on_train_end({})
        return history

    def _train_epoch(self, x: np.ndarray, y: np.ndarray, targets: ClassTargets | None,
                     batch_size: int, shuffle: bool, optimizer: OptimizerProtocol,
                     epoch: int, callbacks: list[Callback]) -> dict[str, float]:
        n = len(x)
        order = self.rng.permutation(n) if shuffle else None
        parameters = self.parameters()
        snapshot = [p.value.copy() for p in parameters]
        loss_fn = self.loss
        total_loss, correct, done = 0.0, 0, 0
        for batch, begin in enumerate(range(0, n, batch_size)):
            end = min(begin + batch_size, n)
            if order is None:
                index = slice(begin, end)
                xb, yb = x[index], y[index]
            else:
                index = order[begin:end]
                xb, yb = x.take(index, axis=0), y.take(index, axis=0)
            output = self.forward(xb, training=True)
            loss = loss_fn.forward(yb, output)
            if not math.isfinite(loss):
                self._diverged(loss, epoch, batch, parameters, snapshot, optimizer)
            if targets is not None:
                correct += targets.correct(output, targets.labels[index])
            self.backward(loss_fn.backward())
            optimizer.step(parameters)
            size = end - begin
            total_loss += loss * size
            done += size
            for callback in callbacks:
                callback.on_batch_end(batch, {"loss": loss})
            if self.stop_training:
                break
        logs = {"loss": total_loss / max(done, 1)}
        if targets is not None:
            logs["accuracy"] = correct / max(done, 1)
        logs["batches_done"] = batch + 1
        return logs

    def _diverged(self, loss: float, epoch: int, batch: int, parameters: list[Parameter],
                  snapshot: list[np.ndarray], optimizer: OptimizerProtocol) -> None:
        kept = "the weights of the last finite step are kept"
        if not all(np.isfinite(p.value).all() for p in parameters):
            for parameter, saved in zip(parameters, snapshot, strict=True):
                np.copyto(parameter.value, saved)
            kept = "the weights from the start of this epoch were restored"
        raise TrainingDivergedError(
            f"the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}; {kept}. "
            f"Try a smaller learning rate (now {optimizer.learning_rate}) or scale the inputs"
        )

    def _training_optimizer(self, learning_rate: float | None) -> OptimizerProtocol:
        if self.loss is None:
            raise NetworkStateError("no loss chosen: call use(loss, optimizer) before fit(), "
                                    "for example net.use('mse', 'sgd')")
        if self.optimizer is None:
            if learning_rate is None:
                raise NetworkStateError("no optimizer: call use(loss, optimizer) or pass "
                                        "fit(..., learning_rate=0.1) for plain SGD")
            self.optimizer = registry.optimizer("sgd", learning_rate=learning_rate)
        elif learning_rate is not None:
            if not isinstance(learning_rate, (int, float)) or not learning_rate >= 0:
                raise ConfigError(f"learning_rate must be a number >= 0, got {learning_rate!r}")
            self.optimizer.learning_rate = float(learning_rate)
        return self.optimizer

    def _loss_takes_logits(self) -> bool:
        return bool(getattr(self.loss, "takes_logits", False))

    def _check_inputs(self, x: np.ndarray, name: str = "x") -> None:
        if tuple(x.shape[1:]) != self.input_shape:
            first = layer_name(self.layers[0])
            raise ShapeError(
                f"layer 0 ({first}): the network was built for samples of shape "
                f"{self.input_shape}, but {name} has samples of shape {tuple(x.shape[1:])}; "
                "reshape the data or build a new network"
            )

    def _check_targets(self, y: np.ndarray, output_shape: Shape, name: str) -> None:
        check = getattr(self.loss, "check_targets", None)
        if check is not None:
            try:
                check(y, output_shape)
            except DataError as exc:
                raise DataError(f"{name}: {exc}") from None

    def _validation_arrays(self, data: Any, output_shape: Shape) -> tuple[np.ndarray, np.ndarray]:
        try:
            x_val, y_val = data
        except (TypeError, ValueError):
            raise DataError("validation_data must be a pair (x_val, y_val)") from None
        x_val = as_inputs(x_val, self.dtype, "x_val")
        y_val = as_targets(y_val, self.dtype, "y_val")
        check_same_length(x_val, y_val, ("x_val", "y_val"))
        self._check_inputs(x_val, "x_val")
        self._check_targets(y_val, output_shape, "y_val")
        return x_val, y_val

    # -- inference -----------------------------------------------------------------------

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """The network's outputs for ``x``, computed in chunks of ``batch_size`` samples."""
        self._require_built()
        x = as_inputs(x, self.dtype, "x")
        self._check_inputs(x)
        chunk = batch_size or PREDICT_CHUNK
        _check_int("batch_size", chunk, minimum=1)
        if len(x) <= chunk:
            return self.forward(x)
        parts = [self.forward(x[i:i + chunk]) for i in range(0, len(x), chunk)]
        return np.concatenate(parts)

    def evaluate(self, x: Any, y: Any, batch_size: int | None = None) -> dict[str, float]:
        """The mean loss over ``x`` and, for classification targets, the accuracy."""
        if self.loss is None:
            raise NetworkStateError("no loss chosen: call use(loss) before evaluate()")
        self._require_built()
        x = as_inputs(x, self.dtype, "x")
        y = as_targets(y, self.dtype, "y")
        check_same_length(x, y)
        self._check_inputs(x)
        output_shape = self.output_shape
        self._check_targets(y, output_shape, "y")
        targets = class_targets(y, output_shape, self._loss_takes_logits())
        chunk = batch_size or PREDICT_CHUNK
        total, correct = 0.0, 0
        for begin in range(0, len(x), chunk):
            end = min(begin + chunk, len(x))
            output = self.forward(x[begin:end])
            total += self.loss.forward(y[begin:end], output) * (end - begin)
            if targets is not None:
                correct += targets.correct(output, targets.labels[begin:end])
        scores = {"loss": total / len(x)}
        if targets is not None:
            scores["accuracy"] = correct / len(x)
        return scores

    # -- saving --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], *, include_optimizer: bool = True) -> Path:
        """Write the network to one ``.npz`` model file, atomically (docs/model-files.md).

        With ``include_optimizer`` the file also holds the optimizer state and the training
        position, so ``nnframe.load(path).fit(..., initial_epoch=net.epoch)`` resumes exactly.
        """
        from nnframe import modelfile  # modelfile imports Network

        return modelfile.save(self, path, include_optimizer=include_optimizer)

    # -- description ---------------------------------------------------------------------

    def summary_rows(self) -> list[tuple[int, str, str, int | None]]:
        """(index, layer name, output shape, parameter count) per layer."""
        rows = []
        shape = self.input_shape
        for index, layer in enumerate(self.layers):
            if shape is not None:
                shape = tuple(layer.output_shape(shape))
                shown = str((None, *shape))
                count = sum(v.size for v in layer.params.values())
            else:
                shown, count = "?", None
            rows.append((index, layer_name(layer), shown, count))
        return rows

    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print a Keras-style table of layers, output shapes and parameter counts."""
        rows = self.summary_rows()
        header = ("#", "layer", "output shape", "params")
        cells = [(str(i), name, shape, "?" if n is None else f"{n:,}")
                 for i, name, shape, n in rows]
        widths = [max(len(r[c]) for r in [header, *cells]) for c in range(4)]
        line = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
        input_shape = "not built" if not self.built else str((None, *self.input_shape))
        print_fn(f"Network: {len(self.layers)} layers, {self.dtype}, input {input_shape}")
        print_fn(line.format(*header))
        print_fn("-" * (sum(widths) + 6))
        for row in cells:
            print_fn(line.format(*row))
        print_fn("-" * (sum(widths) + 6))
        total = "?" if not self.built else f"{self.count_params():,}"
        print_fn(f"Total params: {total}")

    def __repr__(self) -> str:
        names = ", ".join(layer_name(layer) for layer in self.layers)
        return f"Network([{names}], dtype={self.dtype.name!r}, built={self.built})"


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _split(x: np.ndarray, y: np.ndarray, fraction: float):
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation_split must be in (0, 1), got {fraction!r}")
    cut = len(x) - round(len(x) * fraction)
    if cut <= 0 or cut >= len(x):
        raise DataError(f"validation_split={fraction} leaves no training or no validation "
                        f"samples out of {len(x)}")
    return x[:cut], y[:cut], (x[cut:], y[cut:])
