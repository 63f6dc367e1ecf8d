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
from nnframe.flat import FlatBinding
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
        #: Keep all parameters in one buffer and all gradients in another, the layers
        #: holding views (`nnframe.flat`), so the optimizer steps them all at once.
        #: False keeps one array per parameter and steps them one by one.
        self.flat_parameters = True
        self._binding: FlatBinding | None = None
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
        self._binding = None
        self._bind()
        return self

    def _bind(self) -> FlatBinding | None:
        """The flat parameter buffers, (re)made when missing or no longer intact."""
        if not self.flat_parameters:
            self._binding = None
        elif self._binding is None or not self._binding.intact():
            self._binding = FlatBinding.bind(self.layers, self.dtype)
        return self._binding

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
        """dE/dX of the network's input; every layer's parameter gradients on the way."""
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def _parameter_backward(self) -> Callable[[np.ndarray], None]:
        """Backward as training needs it: down to the first layer with parameters only,
        which is asked for its parameter gradients alone (``backward_parameters``, when
        it has one), since no one uses dE/dX of the network's input."""
        first = next((i for i, layer in enumerate(self.layers) if layer.params), None)
        if first is None:
            return lambda grad: None
        later = [layer.backward for layer in reversed(self.layers[first + 1:])]
        layer = self.layers[first]
        last = layer.backward_parameters if _skips_input_grad(layer) else layer.backward

        def backward(grad: np.ndarray) -> None:
            for step in later:
                grad = step(grad)
            last(grad)

        return backward

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
        gather = _BatchGather(x, y, batch_size) if shuffle else None
        binding = self._bind()
        backward = self._parameter_backward()
        snapshot = {p.key: p.value.copy() for p in self.parameters()}
        loss_fn = self.loss
        total_loss, correct, done = 0.0, 0, 0
        for batch, begin in enumerate(range(0, n, batch_size)):
            end = min(begin + batch_size, n)
            if order is None:
                index = slice(begin, end)
                xb, yb = x[index], y[index]
            else:
                index = order[begin:end]
                xb, yb = gather(index)
            output = self.forward(xb, training=True)
            loss = loss_fn.forward(yb, output)
            if not math.isfinite(loss):
                self._diverged(loss, epoch, batch, snapshot, optimizer)
            if targets is not None:
                correct += targets.correct(output, targets.labels[index])
            backward(loss_fn.backward())
            if binding is not None and not binding.intact():
                binding = None  # a layer replaced one of its arrays: step one by one
            optimizer.step(self.parameters() if binding is None else binding.parameters)
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

    def _diverged(self, loss: float, epoch: int, batch: int, snapshot: dict[str, np.ndarray],
                  optimizer: OptimizerProtocol) -> None:
        kept = "the weights of the last finite step are kept"
        parameters = self.parameters()
        if not all(np.isfinite(p.value).all() for p in parameters):
            for parameter in parameters:
                if parameter.key in snapshot:
                    np.copyto(parameter.value, snapshot[parameter.key])
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

    def __getstate__(self) -> dict[str, Any]:
        """Copies (``copy.deepcopy``, pickle) leave the flat buffers behind: a copy's layers
        hold copies of the views, no longer inside the copied buffers, so stepping those
        would train nothing. The copy binds its own buffers when it next trains."""
        state = self.__dict__.copy()
        state["_binding"] = None
        return state

    def __repr__(self) -> str:
        names = ", ".join(layer_name(layer) for layer in self.layers)
        return f"Network([{names}], dtype={self.dtype.name!r}, built={self.built})"


def _skips_input_grad(layer: object) -> bool:
    """Whether ``layer.backward_parameters`` may stand in for ``layer.backward``: only when
    it is defined where ``backward`` is or below, so that a subclass overriding only
    ``backward`` (of `Dense`, say) keeps its own gradients."""
    if "backward" in getattr(layer, "__dict__", {}):  # replaced on the instance
        return False
    owners = {}
    for name in ("backward", "backward_parameters"):
        owners[name] = next((cls for cls in type(layer).__mro__ if name in vars(cls)), None)
    backward, parameters = owners["backward"], owners["backward_parameters"]
    return backward is not None and parameters is not None and issubclass(parameters, backward)


class _BatchGather:
    """Shuffled batches copied into two buffers reused from batch to batch."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        size = min(batch_size, len(x))
        self.x, self.y = x, y
        self.x_batch = np.empty((size, *x.shape[1:]), x.dtype)
        self.y_batch = np.empty((size, *y.shape[1:]), y.dtype)

    def __call__(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = len(index)
        # mode="clip": the indices are valid, and "raise" would copy through a buffer
        xb = np.take(self.x, index, axis=0, out=self.x_batch[:size], mode="clip")
        yb = np.take(self.y, index, axis=0, out=self.y_batch[:size], mode="clip")
        return xb, yb


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
