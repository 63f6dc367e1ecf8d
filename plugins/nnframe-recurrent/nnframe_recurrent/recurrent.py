"""What rnn, lstm and gru share: arguments, shapes, PyTorch's initialisation, the input
projection of every time step in one matrix product, the output, and the gradients that
follow from the gradient of that projection.

A cell (a subclass) supplies the loop over time: `_forward_steps` runs it on a time-major
sequence, `_backward_steps` runs backpropagation through time over the cached run, fills
the recurrent gradients and returns dE/d(projection) for every step. From that one array
the base class gets the input-weight gradient, the input-bias gradient and dE/dX with one
matrix product each.

A bidirectional layer holds a second, unidirectional copy of itself for the reverse
direction, bound to views of its ``reverse_*`` arrays, and runs it on the time-reversed
sequence (PyTorch's ``bidirectional=True``): both directions' outputs side by side.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import numpy as np

import nnframe
from nnframe.checks.arguments import positive_int, to_int
from nnframe.speed.workspace import Workspace
from nnframe_recurrent.sequences import batch_shape, sample_shape

Draw = Callable[[tuple[int, ...]], np.ndarray]
#: The prefix of the reverse direction's arrays in a bidirectional layer.
REVERSE = "reverse_"


def _check_initial_state(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if value not in ("zeros", "learned"):
        raise nnframe.ConfigError(
            f"{instance.layer_name}: initial_state must be 'zeros' or 'learned' (trainable "
            f"initial states, PyTorch's h0 shared by the batch), got {value!r}")


def _check_bool(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise nnframe.ConfigError(
            f"{instance.layer_name}: {attribute.name} must be true or false, got {value!r}")


@attrs.define(eq=False)
class Run:
    """One forward pass over a sequence, time-major: what backward needs.

    ``steps`` is the input (time, N, features), ``states`` the hidden states (time + 1, N,
    units) with the zero initial state first, ``arrays`` whatever else the cell keeps.
    """

    steps: np.ndarray
    states: np.ndarray
    arrays: dict[str, np.ndarray] = attrs.field(factory=dict)


@attrs.define(eq=False)
class Recurrent(nnframe.Layer):
    """Base of the recurrent layers: (N, time, features) -> (N, units), or (N, time, units)
    with ``return_sequences``; zero initial state.

    ``use_bias`` is PyTorch's ``bias`` (false: no bias arrays at all). ``initial_state``
    is ``"zeros"`` (default: every sequence starts from zero states) or ``"learned"``:
    trainable ``initial_state`` (and, for lstm, ``initial_cell``) vectors of ``units``
    values, zeros at build, are every sequence's h0 (and c0). They stand for PyTorch's
    ``h0``/``c0`` given to ``forward`` where one value serves the whole batch (set them
    with ``layer.params["initial_state"][...] = h0``); a state given per sample is not an
    input here, since a layer takes one array. ``bidirectional``
    (as PyTorch's) adds a reverse direction that reads the sequence from its end, with its
    own ``reverse_*`` weights: the output is both directions' states side by side, 2 *
    units wide, forward first; without return_sequences, each direction's last state
    (the reverse one's after reading the first step), as PyTorch's ``h_n``.
    """

    layer_name: ClassVar[str] = "recurrent"
    #: G: blocks of ``units`` columns in the weights (1 rnn, 4 lstm, 3 gru)
    gates: ClassVar[int] = 1
    #: the bias added to the input projection (rnn and lstm: their one bias)
    input_bias_key: ClassVar[str] = "bias"
    #: the parameters of learned initial states: h0 (lstm: and c0)
    initial_keys: ClassVar[tuple[str, ...]] = ("initial_state",)
    #: inference runs in chunks of samples whose work arrays fit in about this many bytes
    inference_bytes: ClassVar[int] = 32 * 2**20
    #: How `nnframe check` builds it: features != units, whole sequences out.
    check_hints: ClassVar[dict] = {
        "config": {"units": 3, "return_sequences": True},
        "input_shape": (4, 2),
    }

    units: int = attrs.field(converter=to_int, validator=positive_int)
    return_sequences: bool = attrs.field(default=False, validator=_check_bool)
    use_bias: bool = attrs.field(default=True, validator=_check_bool)
    bidirectional: bool = attrs.field(default=False, validator=_check_bool)
    initial_state: str = attrs.field(default="zeros", validator=_check_initial_state)
    features: int | None = attrs.field(init=False, default=None)
    _workspace: Workspace = attrs.field(init=False, factory=Workspace, repr=False)
    _run: Run | None = attrs.field(init=False, default=None, repr=False)
    _reverse: Recurrent | None = attrs.field(init=False, default=None, repr=False)

    @property
    def learned(self) -> bool:
        """Whether the initial states are parameters (``initial_state="learned"``)."""
        return self.initial_state == "learned"

    @property
    def width(self) -> int:
        """Output features per step: units, twice that when bidirectional."""
        return 2 * self.units if self.bidirectional else self.units

    # -- shapes and parameters -----------------------------------------------------------

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        time, features = sample_shape(self.layer_name, input_shape)
        self._check_features(features)
        return (time, self.width) if self.return_sequences else (self.width,)

    def _check_features(self, features: int) -> None:
        if self.features is not None and features != self.features:
            raise nnframe.ShapeError(
                f"{self.layer_name} was built for {self.features} features per time step, "
                f"got {features}; sequences are (N, time, features)"
            )

    def build(self, input_shape: tuple[int, ...], rng: np.random.Generator,
              dtype: np.dtype) -> None:
        """Every weight and bias from U(-1/sqrt(units), 1/sqrt(units)), as PyTorch does."""
        _, features = sample_shape(self.layer_name, input_shape)
        bound = 1.0 / math.sqrt(self.units)

        def draw(shape: tuple[int, ...]) -> np.ndarray:
            return rng.uniform(-bound, bound, shape)

        width = self.gates * self.units
        params: dict[str, np.ndarray] = {}
        for prefix in ("", REVERSE) if self.bidirectional else ("",):
            params[f"{prefix}input_weights"] = draw((features, width))
            params[f"{prefix}recurrent_weights"] = draw((self.units, width))
            if self.use_bias:
                params.update({prefix + name: value for name, value
                               in self._initial_biases(draw, width).items()})
            if self.learned:
                params.update({prefix + name: np.zeros(self.units)
                               for name in self.initial_keys})
        self.params = {name: value.astype(dtype) for name, value in params.items()}
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}
        self.features = features
        self._workspace.clear()
        self._run = None
        self._reverse = None
        if self.bidirectional:
            self._reverse = attrs.evolve(self, bidirectional=False)
            self._reverse.features = features

    def _bound_reverse(self) -> Recurrent:
        """The reverse direction on views of this layer's ``reverse_*`` arrays (a network
        may have moved them into its buffers since build)."""
        reverse = self._reverse
        if reverse is None:
            raise RuntimeError(f"{type(self).__name__} is not built")
        cut = len(REVERSE)
        reverse.params = {k[cut:]: v for k, v in self.params.items() if k.startswith(REVERSE)}
        reverse.grads = {k[cut:]: v for k, v in self.grads.items() if k.startswith(REVERSE)}
        return reverse

    def _param(self, name: str) -> np.ndarray:
        """``params[name]``, or zeros in its place for a bias the layer does not have."""
        value = self.params.get(name)
        if value is not None:
            return value
        weights = self.params["input_weights"]
        return self._workspace.constant(f"no_{name}", (weights.shape[1],), weights.dtype, 0.0)

    def _initial_biases(self, draw: Draw, width: int) -> dict[str, np.ndarray]:
        """One ``bias``, drawn as the sum of two draws: PyTorch's two biases, which this
        one bias stands for, each come from the same range as the weights."""
        return {"bias": draw((width,)) + draw((width,))}

    # -- forward -------------------------------------------------------------------------

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not self.bidirectional:
            return self._forward_direction(x, training)
        reverse = self._bound_reverse()
        ahead = self._forward_direction(x, training)
        behind = reverse._forward_direction(x[:, ::-1], training)
        if self.return_sequences:
            behind = behind[:, ::-1]
        return np.concatenate([ahead, behind], axis=-1)

    def _forward_direction(self, x: np.ndarray, training: bool) -> np.ndarray:
        n, time, features = batch_shape(self.layer_name, x)
        if self.features is None:
            raise nnframe.NetworkStateError(
                f"{self.layer_name} is not built: call build((time, features), rng, dtype) "
                "or put it in a Network")
        self._check_features(features)
        if training:
            self._run = self._forward_steps(self._time_major(x, self._workspace),
                                            self._workspace)
            return self._output(self._run.states)
        # Inference keeps nothing and works through the batch in chunks, so that a large
        # prediction batch does not hold every step's gates at once.
        work = Workspace()
        dtype = self.params["input_weights"].dtype
        per_sample = time * (2 * self.gates + 4) * self.units * dtype.itemsize
        chunk = max(1, self.inference_bytes // per_sample)
        outputs = [self._output(self._forward_steps(self._time_major(x[i:i + chunk], work),
                                                    work).states)
                   for i in range(0, max(n, 1), chunk)]  # an empty batch: one empty chunk
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def _time_major(self, x: np.ndarray, work: Workspace) -> np.ndarray:
        """(time, N, features) in the layer's dtype, contiguous: a view when ``x`` already
        is one transposed (the output of a recurrent layer with return_sequences)."""
        steps = x.transpose(1, 0, 2)
        dtype = self.params["input_weights"].dtype
        if steps.flags.c_contiguous and steps.dtype == dtype:
            return steps
        buffer = work.get("steps", steps.shape, dtype)
        np.copyto(buffer, steps)
        return buffer

    def _project(self, steps: np.ndarray, weights: np.ndarray, bias: np.ndarray,
                 out: np.ndarray) -> np.ndarray:
        """``out[t] = steps[t] @ weights + bias`` for every step, as one matrix product."""
        time, n, features = steps.shape
        np.matmul(steps.reshape(time * n, features), weights,
                  out=out.reshape(time * n, weights.shape[1]))
        out += bias
        return out

    def _scaled(self, name: str, scale: np.ndarray, work: Workspace) -> np.ndarray:
        """``params[name] * scale`` (columns scaled) in a work array: see `activate`."""
        value = self._param(name)
        return np.multiply(value, scale, out=work.get(f"scaled_{name}", value.shape, value.dtype))

    def _states(self, work: Workspace, time: int, n: int, dtype: np.dtype) -> np.ndarray:
        """(time + 1, N, units) for the hidden states, the first the initial one (zeros or
        the learned ``initial_state``)."""
        states = work.get("states", (time + 1, n, self.units), dtype)
        states[0] = self.params["initial_state"] if self.learned else 0.0
        return states

    def _initial_grad(self, name: str, grad: np.ndarray) -> None:
        """``grads[name]`` of a learned initial state: dE/d(its copy in each sequence)
        (N, units), summed over the batch."""
        self._sum_rows(grad, self.grads[name])

    def _output(self, states: np.ndarray) -> np.ndarray:
        """A fresh array (states live in reused buffers): the last state, or every state
        as (N, time, units), a view of a time-major copy, which the next recurrent layer
        reads without copying it again."""
        if self.return_sequences:
            return states[1:].copy().transpose(1, 0, 2)
        return states[-1].copy()

    def _forward_steps(self, steps: np.ndarray, work: Workspace) -> Run:
        raise NotImplementedError

    # -- backward ------------------------------------------------------------------------

    def _split(self, grad_output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A bidirectional output's gradient as (forward direction's, reverse's), the
        reverse one in the order that direction read the steps."""
        self._check_grad_shape(grad_output, self.width)
        ahead, behind = grad_output[..., :self.units], grad_output[..., self.units:]
        return ahead, behind[:, ::-1] if self.return_sequences else behind

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        if not self.bidirectional:
            return self._backward_direction(grad_output)
        ahead, behind = self._split(grad_output)
        grad = self._backward_direction(ahead)
        grad += self._bound_reverse()._backward_direction(behind)[:, ::-1]
        return grad

    def _backward_direction(self, grad_output: np.ndarray) -> np.ndarray:
        grad_projection = self._parameter_grads(grad_output)
        time, n, width = grad_projection.shape
        grad = grad_projection.reshape(time * n, width) @ self.params["input_weights"].T
        return grad.reshape(time, n, grad.shape[1]).transpose(1, 0, 2)

    def backward_parameters(self, grad_output: np.ndarray) -> None:
        """Fill ``grads`` only: the network asks its first layer with parameters for this,
        since nothing needs dE/dX of its input (one matrix product fewer)."""
        if not self.bidirectional:
            self._parameter_grads(grad_output)
            return
        ahead, behind = self._split(grad_output)
        self._parameter_grads(ahead)
        self._bound_reverse()._parameter_grads(behind)

    def _check_grad_shape(self, grad_output: np.ndarray, width: int) -> None:
        run = self._run
        if run is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before "
                               "forward(x, training=True)")
        time, n, _ = run.steps.shape
        expected = (n, time, width) if self.return_sequences else (n, width)
        if tuple(grad_output.shape) != expected:
            raise nnframe.ShapeError(
                f"{self.layer_name}: the gradient of its output has shape "
                f"{tuple(grad_output.shape)}, expected {expected} as forward returned")

    def _parameter_grads(self, grad_output: np.ndarray) -> np.ndarray:
        """Fill ``grads``; return dE/d(projection), (time, N, G * units)."""
        self._check_grad_shape(grad_output, self.units)
        run = self._run
        time, n, features = run.steps.shape
        grad_states = grad_output.transpose(1, 0, 2) if self.return_sequences else grad_output
        grad_projection = self._backward_steps(run, grad_states)
        flat = grad_projection.reshape(time * n, grad_projection.shape[2])
        np.matmul(run.steps.reshape(time * n, features).T, flat,
                  out=self.grads["input_weights"])
        if self.use_bias:
            self._sum_rows(flat, self.grads[self.input_bias_key])
        return grad_projection

    def _sum_rows(self, matrix: np.ndarray, out: np.ndarray) -> None:
        """``out = matrix.sum(axis=0)`` as a matrix-vector product, far faster than np.sum
        on a narrow array."""
        ones = self._workspace.constant("ones", (matrix.shape[0],), matrix.dtype, 1.0)
        np.matmul(ones, matrix, out=out)

    def _backward_steps(self, run: Run, grad_states: np.ndarray) -> np.ndarray:
        """Backpropagation through time: fill the recurrent gradients, return
        dE/d(projection). ``grad_states`` is dE/d(states[1:]) as (time, N, units) with
        return_sequences, else dE/d(last state) as (N, units)."""
        raise NotImplementedError

    def _grad_state_at(self, grad_states: np.ndarray, t: int, time: int) -> np.ndarray | None:
        """The output's own gradient for the state of step ``t``, if it has one."""
        if self.return_sequences:
            return grad_states[t]
        return grad_states if t == time - 1 else None


def exp_factors(sigmoid_gates: tuple[bool, ...], units: int, dtype: np.dtype) -> np.ndarray:
    """Per column: -1 for a sigmoid gate, -2 for a tanh gate (see `activate`)."""
    return np.repeat(np.where(sigmoid_gates, -1.0, -2.0), units).astype(dtype)


def activate(block: np.ndarray) -> None:
    """In place, pre-activations ``a`` given times their factor -> ``sigmoid(a)`` for a
    sigmoid gate, ``sigmoid(2a)`` for a tanh gate (then ``tanh(a) = 2 sigmoid(2a) - 1``).

    sigmoid(a) = 1 / (1 + exp(-a)): every gate of a step in one exp call, which NumPy
    computes markedly faster than tanh in float32. The factors -1 and -2 are folded into
    copies of the weights and biases once per batch (exact: powers of two). Where exp
    overflows to inf the sigmoid is 0, exactly; callers silence that warning.
    """
    np.exp(block, out=block)
    block += 1.0
    np.reciprocal(block, out=block)
