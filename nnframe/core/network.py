"""The Sequential model: layers in order, their parameters, inference and saving.

Data flows forward layer by layer; the loss gives dE/dY for the last layer; each layer's
backward fills its parameter gradients and returns dE/dX for the layer before; the optimizer
then updates every parameter in place. Training itself (the loop over epochs and batches)
lives in `nnframe.core.training`; this module is the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnframe.checks.arguments import check_int
from nnframe.checks.fitting import is_dataset
from nnframe.checks.inputs import as_inputs, check_samples, checked_pair
from nnframe.constants import DTYPES, PREDICT_CHUNK
from nnframe.core import registry
from nnframe.core.contracts import (
    LayerProtocol,
    LossProtocol,
    MetricProtocol,
    OptimizerProtocol,
    ParameterGroup,
    Shape,
)
from nnframe.core.kinds import kind
from nnframe.core.parameters import bind, unbound
from nnframe.core.registry import component_name, layer_label
from nnframe.core.training import TrainState
from nnframe.errors import ConfigError, NetworkStateError, NNFrameError
from nnframe.modelfile.save import save_network
from nnframe.summary import summary_lines

if TYPE_CHECKING:
    from nnframe.callbacks import History
    from nnframe.core.contracts import Callback, ScheduleProtocol
    from nnframe.datasets.schema import DataSchema
    from nnframe.distributed import Strategy

def layer_name(layer: object) -> str:
    """The registered name of a layer (``dense``), else its class name."""
    return component_name("layer", layer)


class Network:
    """A sequence of layers trained together (Keras' Sequential).

    Example:
        ```python
        net = Network([layer("dense", 2, 3), layer("tanh"), layer("dense", 3, 1)])
        net.use("mse", "sgd").fit(x, y, epochs=100, learning_rate=0.1)
        ```
    """

    def __init__(self, layers: Iterable[LayerProtocol] | None = None, *,
                 dtype: str = "float32") -> None:
        if str(np.dtype(dtype)) not in DTYPES:
            raise ConfigError(f"Network dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        """The dtype of every parameter, gradient and output (float32 or float64)."""
        self.layers: list[LayerProtocol] = []
        """The layers, in order."""
        self.loss: LossProtocol | None = None
        """The loss chosen with `use`."""
        self.optimizer: OptimizerProtocol | None = None
        """The optimizer chosen with `use` (or SGD made by ``fit(learning_rate=...)``)."""
        self.metrics: list[MetricProtocol] = []
        """Metrics reported by `fit` and `evaluate` besides the loss (see `use`)."""
        self.input_shape: Shape | None = None
        """One sample's shape, set by `build`; None before."""
        self.rng = np.random.default_rng()
        """The one generator of initialisation, dropout and shuffling, seeded by `build`."""
        self.stop_training = False
        """Set it true (a callback does) to end `fit` after the current batch."""
        self.train_state = TrainState()
        """Where training got to (epochs done, the position inside an epoch, the
        schedule's state): replaced by `fit` after every batch, kept in model files."""
        self.schema: DataSchema | None = None
        """How rows of the files it was trained on become its inputs, and its outputs
        answers (feature columns, categories, class names, target scaling); set by training
        on a reader's data (`nnframe.dataset`), kept in the model file."""
        self._parameters: ParameterGroup | None = None
        for layer in layers or ():
            self.add(layer)

    # -- assembling ----------------------------------------------------------------------

    def add(self, layer: LayerProtocol) -> Network:
        """Append a layer; a built network takes no new layers."""
        if self.built:
            raise NetworkStateError("the network is already built; add layers before "
                                    "build() or fit(), or start a new Network")
        missing = [m for m in kind("layer").members if not hasattr(layer, m)]
        if missing:
            raise ConfigError(f"layer {len(self.layers)} ({type(layer).__name__}) is not a "
                              f"layer: it lacks {', '.join(missing)} (see nnframe.Layer)")
        self.layers.append(layer)
        return self

    def use(self, loss: str | LossProtocol, optimizer: str | OptimizerProtocol | None = None,
            *, metrics: Sequence[str | MetricProtocol] | None = None) -> Network:
        """Choose the loss, the optimizer and extra metrics, as objects or registered names.

        Accuracy is reported anyway whenever the targets are class labels.
        """
        self.loss = _component("loss", loss)
        if getattr(self.loss, "reduction", "mean") == "none":
            raise ConfigError(f"loss {type(self.loss).__name__} has reduction='none': it "
                              "gives one value per element, for inspecting a batch, and a "
                              "network trains on one number; use 'mean' or 'sum'")
        self.optimizer = _component("optimizer", optimizer) if optimizer is not None else None
        self.metrics = [_component("metric", metric) for metric in metrics or ()]
        return self

    @property
    def epoch(self) -> int:
        """Epochs trained so far: what ``fit(..., initial_epoch=net.epoch)`` continues from."""
        return self.train_state.epoch

    @property
    def resume_point(self) -> dict[str, Any] | None:
        """Where training stopped inside epoch ``epoch`` (Ctrl-C, a callback), as model
        files store it: ``{"epoch", "batch", "epoch_rng", "loss_sum", "seen"}``; None
        when no epoch was left unfinished."""
        return self.train_state.resume_point()

    @property
    def built(self) -> bool:
        """Whether `build` (or `fit`) has created the parameters."""
        return self.input_shape is not None

    def build(self, input_shape: Sequence[int], seed: int | None = None) -> Network:
        """Create every layer's parameters for one sample's shape (no batch axis), then
        keep them all in one buffer (and their gradients in another) from now on."""
        shape = tuple(int(s) for s in input_shape)
        self.rng = np.random.default_rng(seed)
        self._chain_shapes(shape, build=True)
        self._parameters = bind(self.layers, self.dtype)
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
                raise type(exc)(f"{layer_label(index, layer)}: {exc}") from None
            except MemoryError:
                raise ConfigError(f"{layer_label(index, layer)}: not enough memory for its "
                                  f"weights on input of shape {shape}; make it smaller"
                                  ) from None
        return shape

    @property
    def output_shape(self) -> Shape:
        """One output sample's shape (the network must be built)."""
        self._require_built()
        return self._chain_shapes(self.input_shape, build=False)

    def parameters(self) -> ParameterGroup:
        """Every trainable array with its gradient, keyed ``"<layer index>.<name>"``, as
        the one group the optimizer steps (empty before `build`)."""
        if self._parameters is None:
            return ParameterGroup.allocate({}, self.dtype)
        if unbound(self.layers, self._parameters):
            # a user put new arrays into a layer's dicts (set weights by hand): adopt them
            self._parameters = bind(self.layers, self.dtype)
        return self._parameters

    def state(self) -> dict[str, np.ndarray]:
        """Every layer's state (arrays that are not trained), keyed like parameters."""
        return {f"{index}.{name}": value
                for index, layer in enumerate(self.layers)
                for name, value in getattr(layer, "state", {}).items()}

    def count_params(self) -> int:
        """How many trainable numbers the network has."""
        return sum(p.value.size for p in self.parameters())

    def count_state(self) -> int:
        """How many non-trainable numbers (layer state) the network has."""
        return sum(np.size(value) for value in self.state().values())

    def snapshot(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and every state array, for `restore`."""
        saved = {f"params/{p.key}": p.value.copy() for p in self.parameters()}
        saved.update({f"state/{key}": np.array(value, copy=True)
                      for key, value in self.state().items()})
        return saved

    def restore(self, snapshot: dict[str, np.ndarray]) -> None:
        """Put back parameters and state saved by `snapshot`, in place."""
        current = {f"params/{p.key}": p.value for p in self.parameters()}
        current.update({f"state/{key}": value for key, value in self.state().items()})
        for key, saved in snapshot.items():
            np.copyto(current[key], saved)

    def _require_built(self) -> None:
        if not self.built:
            raise NetworkStateError("the network is not built; call build(input_shape) or fit()")

    # -- forward and backward ------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The network's output for a batch: every layer's forward in order."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """dE/dX of the network's input; every layer's parameter gradients on the way."""
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    # -- training ------------------------------------------------------------------------

    def fit(
        self,
        x: Any,
        y: Any = None,
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
        schedule: str | ScheduleProtocol | None = None,
        clip_norm: float | None = None,
        strategy: str | Strategy | None = None,
        sample_weight: Any = None,
        class_weight: Any = None,
        kernels: str | None = None,
    ) -> History:
        """Train up to epoch ``epochs``, starting at ``initial_epoch`` (0: a fresh run);
        returns the `History`. Everything is checked before the first batch, and the
        first batch checks every layer's shapes.

        ``learning_rate`` without an optimizer means SGD at that rate, as in the original
        from-scratch code; with one, it sets the optimizer's rate. ``schedule`` (a name or
        object) sets the rate before every batch; ``clip_norm`` scales the gradients down
        whenever their global norm exceeds it. ``strategy="mpi"`` trains data-parallel on
        the processes of ``mpiexec -n N`` (``"auto"``: when a launcher started several),
        ``batch_size`` staying the global batch (`nnframe.distributed`).

        ``x`` may be a data set (``nnframe.dataset("csv", path=..., target=...)``, ``y``
        None): ``validation_split`` of its rows is held out (shuffled with ``seed``,
        stratified by class) and the network's `schema` fitted on the rest; of arrays, the
        last samples are held out, as in Keras. A leading ``standardize`` layer never
        adapted is adapted on the training samples.

        ``sample_weight`` (one number >= 0 per sample) and ``class_weight`` (class index or
        name to weight, or ``"balanced"``) weight each sample's loss: a batch's loss is
        sum(w * l) / sum(w). ``kernels="reference"`` runs the optimizer on nnframe's NumPy
        kernels even where a plugin has faster ones (None: as ``$NNFRAME_KERNELS`` says).
        """
        arguments = dict(locals())  # fit's arguments, handed on to the trainer as given
        del arguments["self"], arguments["kernels"]
        from nnframe.core.training import Trainer
        from nnframe.distributed import resolve
        from nnframe.speed.kernels import preference

        strategy = arguments["strategy"] = resolve(strategy)
        with strategy.failures(), preference(kernels):
            return Trainer.create(self, **arguments).run()

    def metrics_for(self, y: np.ndarray, output_shape: Shape) -> list[MetricProtocol]:
        """The metrics to report for targets ``y``, each prepared: the chosen ones, and
        accuracy first when ``y`` are class labels and it is not chosen already."""
        metrics = list(self.metrics)
        if not any(m.name == "accuracy" for m in metrics):
            accuracy = registry.create("metric", "accuracy")
            if accuracy.applies(y, output_shape, self.loss):
                metrics.insert(0, accuracy)
        for metric in metrics:
            prepare = getattr(metric, "prepare", None)
            if prepare is not None:
                prepare(output_shape, self.loss, y)
        names = [m.name for m in metrics]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError(f"two metrics report {', '.join(duplicates)}; choose each once")
        return metrics

    # -- inference -----------------------------------------------------------------------

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """The network's outputs for ``x``, computed in chunks of ``batch_size`` samples."""
        self._require_built()
        x = as_inputs(x, self.dtype, "x", "predicting")
        check_samples(self, x)
        chunk = batch_size or PREDICT_CHUNK
        check_int("batch_size", chunk, minimum=1)
        if len(x) <= chunk:
            return self.forward(x)
        parts = [self.forward(x[i:i + chunk]) for i in range(0, len(x), chunk)]
        return np.concatenate(parts)

    def evaluate(self, x: Any, y: Any = None, batch_size: int | None = None
                 ) -> dict[str, float]:
        """The mean loss over ``x``, accuracy for class labels, and the chosen metrics.

        ``x`` may be a data set (``y`` None): all its rows (a named data set: its test
        split), coded by the network's `schema`.
        """
        if self.loss is None:
            raise NetworkStateError("no loss chosen: call use(loss) before evaluate()")
        self._require_built()
        if is_dataset(x):
            read = getattr(x, "evaluation_arrays", None)  # a reader of files, else its split
            x, y = read(self) if read is not None else x.load("test")
        x, y = checked_pair(self, x, y, "evaluating")
        return self.evaluate_arrays(x, y, self.metrics_for(y, self.output_shape), batch_size)

    def predict_file(self, path: str | os.PathLike[str], batch_size: int | None = None
                     ) -> dict[str, np.ndarray]:
        """Predictions for the rows of a file in the format the network was trained on (a
        CSV or Parquet file with the training columns in any order, an image or a folder
        of images, a .npy array), as named columns: the class and each class's
        probability, or the predicted values in the targets' units.

        ``pandas.DataFrame(net.predict_file("new.csv"))`` makes a table of them.
        """
        from nnframe.datasets.network_data import predict_file

        return predict_file(self, path, batch_size)

    def evaluate_arrays(self, x: np.ndarray, y: np.ndarray, metrics: list[MetricProtocol],
                        batch_size: int | None = None) -> dict[str, float]:
        """`evaluate` on arrays already checked, with prepared metrics."""
        chunk = batch_size or PREDICT_CHUNK
        check_int("batch_size", chunk, minimum=1)
        outputs = ((y[begin:begin + chunk], self.forward(x[begin:begin + chunk]))
                   for begin in range(0, len(x), chunk))
        return self.score_outputs(outputs, metrics)

    def score_outputs(self, outputs: Iterable[tuple[np.ndarray, np.ndarray]],
                      metrics: list[MetricProtocol]) -> dict[str, float]:
        """The mean loss and every metric over ``(targets, outputs)`` chunks, in order."""
        for metric in metrics:
            metric.reset()
        total, seen = 0.0, 0
        for y, output in outputs:
            total += self.loss.forward(y, output) * len(y)
            seen += len(y)
            for metric in metrics:
                metric.update(y, output)
        return {"loss": total / seen, **{m.name: float(m.result()) for m in metrics}}

    # -- saving --------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], *, include_optimizer: bool = True) -> Path:
        """Write the network to one ``.npz`` model file, atomically.

        With ``include_optimizer`` the file also holds the optimizer state and the training
        position, so ``nnframe.load(path).fit(..., initial_epoch=net.epoch)`` resumes exactly.
        A layer whose config would not rebuild it is refused, never saved wrong.
        """
        return save_network(self, path, include_optimizer=include_optimizer)

    # -- description ---------------------------------------------------------------------

    def summary(self, print_fn: Callable[[str], Any] = print) -> None:
        """Print a Keras-style table: layers (composites' inner layers indented), output
        shapes, trainable and non-trainable counts."""
        for line in summary_lines(self):
            print_fn(line)

    def __getstate__(self) -> dict[str, Any]:
        """Copies (``copy.deepcopy``, pickle) leave the parameter buffers behind: a copy's
        layers hold copies of the views, no longer inside any buffer the optimizer steps."""
        state = self.__dict__.copy()
        state["_parameters"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A copy binds buffers of its own, around the arrays its layers hold."""
        self.__dict__.update(state)
        if self.built:
            self._parameters = bind(self.layers, self.dtype)

    def __repr__(self) -> str:
        names = ", ".join(layer_name(layer) for layer in self.layers)
        return f"Network([{names}], dtype={self.dtype.name!r}, built={self.built})"


def _component(kind: str, value: Any) -> Any:
    return registry.create(kind, value) if isinstance(value, str) else value


__all__ = ["PREDICT_CHUNK", "Network", "layer_name"]
