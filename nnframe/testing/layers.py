"""`check_layer`: does a layer honour the layer contract?"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.modelfile.roundtrip import config_text, layer_mismatch, rebuild
from nnframe.testing.gradients import energy_scale, layer_gradients
from nnframe.testing.hints import LAYER_SHAPES, explicit_hints
from nnframe.testing.properties import (
    ComponentCheck,
    FloatingPointLog,
    compare,
    compare_gradient,
    merged,
    run_check,
    varied_configs,
)
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.subjects import Rewind, draw

#: Two runs of the same float64 computation must agree to this (they should be identical).
SAME = 1e-12
#: The magnitude of the inputs of the ``large_inputs`` property.
LARGE = 1e4


def _state_copy(layer: Any) -> dict[str, np.ndarray]:
    return {key: np.array(value, copy=True)
            for key, value in (getattr(layer, "state", {}) or {}).items()}


def check_layer(
    factory_or_name: Any,
    input_shape: tuple[int, ...] | None = None,
    *,
    hints: Mapping[str, Any] | None = None,
    seed: int = 0,
    raises: bool = True,
    **config: Any,
) -> CheckReport:
    """Check a layer against its contract and return the report.

    ``factory_or_name`` is a registered name (``"dense"``, ``"nnframe-conv:conv2d"``), a
    registry `Component` or a factory; ``input_shape`` is one sample's shape and ``config``
    the constructor arguments (both default to the factory's ``check_hints``, see
    `nnframe.testing.hints`). Raises `AssertionError` listing every failed property unless
    ``raises`` is false.
    """
    explicit = explicit_hints(hints, config, input_shape=input_shape)
    return run_check("layer", factory_or_name, explicit, seed, raises, LayerCheck)


@attrs.define
class LayerCheck(ComponentCheck):
    """The properties of one layer, each checked on freshly built copies."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("gradient", self.gradients),
            ("output_shape", self.output_shape),
            ("parameter_shapes", self.parameter_shapes),
            ("dtype", self.dtype),
            ("backward_keeps_params", self.backward_keeps_params),
            ("backward_parameters", self.backward_parameters),
            ("stateless_inference", self.stateless_inference),
            ("large_inputs", self.large_inputs),
            ("empty_batch", self.empty_batch),
            ("config_roundtrip", self.config_roundtrip),
            ("model_file_roundtrip", self.model_file_roundtrip),
            ("seeded_build", self.seeded_build),
        ]

    def prepare(self) -> PropertyResult | None:
        """Settle the sample shape: the hinted one, else the first default that builds.
        A layer that builds for none of them fails the property ``build``."""
        shapes = [self.hints.input_shape] if self.hints.input_shape else list(LAYER_SHAPES)
        first_error = None
        for shape in shapes:
            self.hints = attrs.evolve(self.hints, input_shape=shape)
            try:
                self.make("float64")
                self.make("float32")
                return None
            except Exception as exc:
                first_error = first_error or exc
        tried = " or ".join(map(str, shapes))
        return PropertyResult("build", False, (
            f"{self.subject.label}(**{self.hints.config}) built for sample shape {tried} "
            f"raised {type(first_error).__name__}: {first_error} "
            "(give check_hints for its config or input shape)"))

    # -- making layers and data ----------------------------------------------------------

    def make(self, dtype: str, seed: int | None = None) -> tuple[Any, Rewind]:
        """A new layer built for the hinted shape, and a rewind of its generator."""
        layer = self.subject.make(**self.hints.config)
        rng = np.random.default_rng(self.seed if seed is None else seed)
        layer.build(self.hints.input_shape, rng, np.dtype(dtype))
        return layer, Rewind(rng)

    def make_perturbed(self) -> tuple[Any, Rewind]:
        """A float64 layer whose parameters are moved off their initial values (ones and
        zeros can hide a wrong gradient)."""
        layer, rewind = self.make("float64")
        rng = np.random.default_rng([self.seed, 2])
        for value in layer.params.values():
            value += 0.1 * rng.standard_normal(value.shape) * (np.abs(value) + 0.1)
        return layer, rewind

    def data(self, dtype: Any, salt: int = 1, extra: int = 0) -> np.ndarray:
        shape = (self.hints.batch_size + extra, *self.hints.input_shape)
        return draw(self.hints.inputs, shape, np.random.default_rng([self.seed, salt]), dtype)

    def upstream(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.random.default_rng([self.seed, 3]).standard_normal(shape).astype(dtype)

    # -- the properties ------------------------------------------------------------------

    def gradients(self) -> list[PropertyResult]:
        """backward against central finite differences, in float64, per array."""
        layer, rewind = self.make_perturbed()
        x = self.data(np.float64)
        rewind()
        output = layer.forward(x, training=True)
        upstream = self.upstream(output.shape, np.float64)
        scale = energy_scale(output, upstream)
        pairs = layer_gradients(layer, x, upstream, before_forward=rewind,
                                indices=self.hints.inputs == "indices")
        results = []
        for name, (analytic, numeric) in pairs.items():
            prop = f"gradient({name})"
            if analytic is None:
                results.append(PropertyResult(
                    prop, False, f"backward left no grads[{name!r}] for params[{name!r}]"))
                continue
            label = "dE/dX" if name == "input" else f"grads[{name}]"
            results.append(compare_gradient(prop, label, numeric, analytic, scale=scale,
                                            rtol=self.hints.tolerance))
        return results

    def output_shape(self) -> PropertyResult:
        layer, _ = self.make("float32")
        x = self.data(np.float32)
        declared = tuple(layer.output_shape(self.hints.input_shape))
        trained = tuple(layer.forward(x, training=True).shape[1:])
        inferred = tuple(layer.forward(x, training=False).shape[1:])
        passed = declared == trained == inferred
        detail = f"output_shape({self.hints.input_shape}) = {declared}"
        if not passed:
            detail += (f" but forward gives samples of shape {trained} (training) and "
                       f"{inferred} (inference)")
        return PropertyResult("output_shape", passed, detail)

    def parameter_shapes(self) -> PropertyResult:
        """A layer offering ``parameter_shapes(input_shape)`` says, unbuilt and without
        building, exactly the parameter names and shapes `build` creates (model loading
        compares the stored arrays with them before any layer allocates)."""
        name = "parameter_shapes"
        layer = self.subject.make(**self.hints.config)
        method = getattr(layer, "parameter_shapes", None)
        if method is None:
            return PropertyResult(name, True, "not offered (loading builds the layers "
                                  "before it compares the stored arrays)")
        shape = self.hints.input_shape
        declared = method(shape)
        try:
            declared = {key: tuple(int(n) for n in value)
                        for key, value in dict(declared).items()}
        except (TypeError, ValueError):
            return PropertyResult(name, False, f"parameter_shapes({shape}) returned "
                                  f"{declared!r}, not a dict of parameter name to shape")
        if getattr(layer, "params", None):
            return PropertyResult(name, False, f"parameter_shapes({shape}) created "
                                  "parameters; it must only compute their shapes")
        built, _ = self.make("float32")
        created = {key: tuple(value.shape) for key, value in built.params.items()}
        if declared != created:
            return PropertyResult(name, False, f"parameter_shapes({shape}) = {declared}, "
                                  f"but build({shape}) creates {created}")
        return PropertyResult(name, True, f"parameter_shapes({shape}) = {declared}, as "
                              "build creates")

    def dtype(self) -> PropertyResult:
        """float32 in, float32 out: outputs, dE/dX, parameters and gradients."""
        layer, _ = self.make("float32")
        x = self.data(np.float32)
        found = {f"params[{k}]": v for k, v in layer.params.items()}
        y = layer.forward(x, training=True)
        found["forward(training=True)"] = y
        found["backward"] = layer.backward(self.upstream(y.shape, np.float32))
        found.update({f"grads[{k}]": v for k, v in layer.grads.items()})
        found["forward(training=False)"] = layer.forward(x, training=False)
        wrong = [f"{what} is {np.asarray(v).dtype}" for what, v in found.items()
                 if np.asarray(v).dtype != np.float32]
        if wrong:
            return PropertyResult("dtype", False, "float32 in: " + "; ".join(wrong),
                                  where=wrong[0].split(" is ")[0])
        return PropertyResult("dtype", True, "float32 in, float32 everywhere")

    def backward_keeps_params(self) -> PropertyResult:
        layer, rewind = self.make_perturbed()
        before = {name: value for name, value in layer.params.items()}
        copies = {name: value.copy() for name, value in layer.params.items()}
        x = self.data(np.float64)
        rewind()
        y = layer.forward(x, training=True)
        layer.backward(self.upstream(y.shape, np.float64))
        for name, value in copies.items():
            now = layer.params.get(name)
            if now is not before[name]:
                return PropertyResult("backward_keeps_params", False,
                                      f"backward replaced params[{name!r}]", where=name)
            if not np.array_equal(now, value):
                change = float(np.max(np.abs(now - value)))
                return PropertyResult("backward_keeps_params", False,
                                      f"backward changed params[{name!r}] by up to {change:.3g}",
                                      change, f"params[{name}]")
        return PropertyResult("backward_keeps_params", True,
                              f"{len(copies)} parameter arrays unchanged")

    def stateless_inference(self) -> PropertyResult:
        """forward(training=False) works on a fresh layer, changes no state, and leaves a
        pending backward be."""
        name = "stateless_inference"
        fresh, _ = self.make("float64")
        try:
            fresh.forward(self.data(np.float64), training=False)
        except Exception as exc:
            return PropertyResult(name, False, "forward(x, training=False) on a freshly built "
                                  f"layer raised {type(exc).__name__}: {exc}")
        layer, rewind = self.make_perturbed()
        x = self.data(np.float64)
        other = self.data(np.float64, salt=4, extra=1)
        rewind()
        upstream = self.upstream(layer.forward(x, training=True).shape, np.float64)
        expected = self._backward(layer, upstream)
        rewind()
        layer.forward(x, training=True)
        state = _state_copy(layer)
        layer.forward(other, training=False)
        changed = [key for key, value in state.items()
                   if not np.array_equal(value, getattr(layer, "state", {}).get(key))]
        if changed:
            return PropertyResult(name, False, "forward(x, training=False) changed "
                                  f"state[{changed[0]!r}]; inference may only read state",
                                  where=f"state[{changed[0]}]")
        actual = self._backward(layer, upstream)
        results = [compare(name, label, expected[label], actual.get(label), SAME,
                           ("with an inference pass between", "without"))
                   for label in expected]
        result = merged(name, results)
        if result.passed:
            return attrs.evolve(result, detail="a fresh layer infers; an inference pass between "
                                "forward and backward changes nothing, state included")
        return result

    def backward_parameters(self) -> PropertyResult:
        """A layer offering ``backward_parameters`` fills the same grads as ``backward``."""
        name = "backward_parameters"
        layer, rewind = self.make_perturbed()
        method = getattr(layer, "backward_parameters", None)
        if method is None:
            return PropertyResult(name, True, "not offered (backward is used)")
        x = self.data(np.float64)
        rewind()
        upstream = self.upstream(layer.forward(x, training=True).shape, np.float64)
        expected = self._backward(layer, upstream)
        rewind()
        layer.forward(x, training=True)
        method(upstream.copy())
        results = [compare(name, f"grads[{key}]", expected[f"grads[{key}]"], value, SAME,
                           ("backward_parameters", "backward"))
                   for key, value in layer.grads.items()]
        result = merged(name, results)
        if result.passed:
            return attrs.evolve(result, detail="the same grads as backward")
        return attrs.evolve(result, detail=result.detail + " (a subclass that overrides "
                            "backward must override backward_parameters too)")

    def large_inputs(self) -> PropertyResult:
        """Inputs of magnitude up to 1e4 give finite outputs and gradients in float32, with
        no overflow on the way (a naive exp(-x) overflows); skipped when the hints say the
        layer does not take such inputs (``large_inputs: False``)."""
        name = "large_inputs"
        if not self.hints.large_inputs or self.hints.inputs != "normal":
            return PropertyResult(name, True, "skipped: the layer's hints exclude large inputs")
        layer, rewind = self.make("float32")
        rng = np.random.default_rng([self.seed, 7])
        shape = (self.hints.batch_size, *self.hints.input_shape)
        x = (rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 1.0, shape) * LARGE)
        x = x.astype(np.float32)
        log = FloatingPointLog()
        with log.errstate():
            rewind()
            y = layer.forward(x, training=True)
            grad = layer.backward(self.upstream(y.shape, np.float32))
            inference = layer.forward(x, training=False)
        if error := log.first_error():
            return PropertyResult(name, False, f"inputs of magnitude up to {LARGE:g}: "
                                  f"{error} (compute with a numerically stable formula, e.g. "
                                  "exp of -|x| only)")
        arrays = {"forward": y, "backward": grad, "forward(training=False)": inference}
        arrays.update({f"grads[{k}]": v for k, v in layer.grads.items()})
        bad = [what for what, value in arrays.items() if not np.isfinite(value).all()]
        if bad:
            return PropertyResult(name, False, f"inputs of magnitude up to {LARGE:g}: "
                                  f"{bad[0]} is not finite", where=bad[0])
        return PropertyResult(name, True, f"inputs up to {LARGE:g}: finite, no overflow")

    def empty_batch(self) -> PropertyResult:
        """A batch of no samples, as PyTorch handles it: forward gives (0, *output_shape)
        in training and inference, backward gives an empty dE/dX of the input's shape and
        zero parameter gradients (a sum over no samples), and the state stays as it was."""
        name = "empty_batch"
        layer, rewind = self.make_perturbed()
        x = self.data(np.float64)
        # the shape of a real batch's output (the output_shape property checks it)
        declared = (0, *layer.forward(x, training=False).shape[1:])
        x = x[:0]
        state = _state_copy(layer)
        for value in layer.grads.values():
            value.fill(np.nan)  # backward must overwrite every gradient
        try:
            rewind()
            y = layer.forward(x, training=True)
            grad_input = layer.backward(np.zeros(y.shape))
            inferred = layer.forward(x, training=False)
        except Exception as exc:
            return PropertyResult(name, False, f"a batch of 0 samples of shape "
                                  f"{self.hints.input_shape}: {type(exc).__name__}: {exc}")
        problems = []
        for what, value, expected in (("forward(training=True)", y, declared),
                                      ("forward(training=False)", inferred, declared),
                                      ("backward", grad_input, x.shape)):
            if tuple(np.shape(value)) != tuple(expected):
                problems.append(f"{what} gave shape {np.shape(value)}, expected {expected}")
        for key, value in layer.grads.items():
            if not (np.asarray(value) == 0).all():
                problems.append(f"grads[{key!r}] is not all zeros")
        changed = [key for key, value in state.items()
                   if not np.array_equal(value, getattr(layer, "state", {}).get(key))]
        problems += [f"state[{key!r}] changed" for key in changed]
        if problems:
            return PropertyResult(name, False, "a batch of 0 samples: " + "; ".join(problems))
        return PropertyResult(name, True, "0 samples: empty outputs and dE/dX, zero grads, "
                              "state kept")

    @staticmethod
    def _backward(layer: Any, upstream: np.ndarray) -> dict[str, np.ndarray]:
        grad_input = np.array(layer.backward(upstream.copy()), copy=True)
        grads = {f"grads[{k}]": np.array(v, copy=True) for k, v in layer.grads.items()}
        return {"dE/dX": grad_input, **grads}

    def config_roundtrip(self) -> PropertyResult:
        """get_config() survives JSON, and the factory rebuilds from it a layer that gives
        the same outputs from the same weights: with the hinted config, and again with
        each numeric or boolean argument changed from its default (an argument kept under
        another name, or not at all, shows up there)."""
        name = "config_roundtrip"
        configs = [dict(self.hints.config), *varied_configs(self.subject.factory,
                                                            self.hints.config)]
        tried, first = 0, None
        for config in configs:
            try:
                layer = self.subject.make(**config)
                layer.build(self.hints.input_shape, np.random.default_rng(self.seed),
                            np.dtype("float64"))
            except Exception:
                if config is configs[0]:
                    raise
                continue  # a variation the layer does not accept: nothing to learn
            tried += 1
            try:
                text = config_text(layer)
                first = first or text
                rebuilt = rebuild(layer, self.subject.factory)
            except Exception as exc:
                return PropertyResult(name, False, f"get_config() of a layer made with "
                                      f"{config} cannot rebuild it: {type(exc).__name__}: {exc}")
            problem = layer_mismatch(layer, rebuilt, self.hints.input_shape,
                                     self.data(np.float64), np.dtype("float64"))
            if problem is not None:
                return PropertyResult(name, False, f"made with {config}, get_config() gave "
                                      f"{text}, and the layer rebuilt from it differs: "
                                      f"{problem}")
        more = f"; {tried - 1} more with arguments changed" if tried > 1 else ""
        return PropertyResult(name, True, f"config {first} rebuilds an identical layer{more}")

    def model_file_roundtrip(self) -> PropertyResult:
        """In a network saved to a model file and loaded in its place, the layer predicts
        the same outputs, bit for bit, with its state after a training pass."""
        from nnframe.core.network import Network
        from nnframe.modelfile.load import load

        name = "model_file_roundtrip"
        if self.subject.component is None:
            return PropertyResult(name, True, "skipped: a factory that is not registered "
                                  "cannot be saved by name")
        layer = self.subject.make(**self.hints.config)
        network = Network([layer], dtype="float64")
        network.build(self.hints.input_shape, seed=self.seed)
        for value in layer.params.values():
            value += 0.1 * np.random.default_rng([self.seed, 2]).standard_normal(value.shape)
        x = self.data(np.float64)
        layer.forward(x, training=True)  # may move state, such as running statistics
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "layer.npz")
            network.save(path)
            loaded = load(path)
        results = [compare(name, "predict", network.predict(x), loaded.predict(x), 0.0,
                           ("after loading", "before saving"))]
        for key, value in network.state().items():
            results.append(compare(name, f"state[{key}]", value, loaded.state().get(key), 0.0,
                                   ("after loading", "before saving")))
        result = merged(name, results)
        if result.passed:
            return attrs.evolve(result, detail="saved and loaded: identical predictions and "
                                "state")
        return result

    def seeded_build(self) -> PropertyResult:
        name = "seeded_build"
        first, _ = self.make("float32")
        second, _ = self.make("float32")
        for which in ("params", "state"):
            one, two = getattr(first, which, {}), getattr(second, which, {})
            if set(one) != set(two):
                return PropertyResult(name, False, f"two builds have {which} {sorted(one)} "
                                      f"and {sorted(two)}")
            for key, value in one.items():
                if not np.array_equal(value, two[key]):
                    return PropertyResult(name, False, f"two builds with seed {self.seed} "
                                          f"give different {which}[{key!r}]",
                                          where=f"{which}[{key}]")
        return PropertyResult(name, True, f"seed {self.seed} twice: identical parameters "
                              "and state")
