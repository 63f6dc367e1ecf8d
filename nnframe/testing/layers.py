"""`check_layer`: does a layer honour the layer contract?"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.testing.gradients import layer_gradients
from nnframe.testing.hints import LAYER_SHAPES, explicit_hints
from nnframe.testing.properties import (
    ComponentCheck,
    compare,
    merged,
    rebuild_from_config,
    run_check,
)
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.subjects import Rewind, draw

#: Two runs of the same float64 computation must agree to this (they should be identical).
SAME = 1e-12


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
            ("dtype", self.dtype),
            ("backward_keeps_params", self.backward_keeps_params),
            ("stateless_inference", self.stateless_inference),
            ("config_roundtrip", self.config_roundtrip),
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
        layer = self.subject.factory(**self.hints.config)
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
        upstream = self.upstream(layer.forward(x, training=True).shape, np.float64)
        pairs = layer_gradients(layer, x, upstream, before_forward=rewind)
        results = []
        for name, (analytic, numeric) in pairs.items():
            prop = f"gradient({name})"
            if analytic is None:
                results.append(PropertyResult(
                    prop, False, f"backward left no grads[{name!r}] for params[{name!r}]"))
                continue
            label = "dE/dX" if name == "input" else f"grads[{name}]"
            results.append(compare(prop, label, numeric, analytic, self.hints.tolerance,
                                   ("backward", "finite differences")))
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
        """forward(training=False) works on a fresh layer and leaves a pending backward be."""
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
        layer.forward(other, training=False)
        actual = self._backward(layer, upstream)
        results = [compare(name, label, expected[label], actual.get(label), SAME,
                           ("with an inference pass between", "without"))
                   for label in expected]
        result = merged(name, results)
        if result.passed:
            return attrs.evolve(result, detail="a fresh layer infers; an inference pass between "
                                "forward and backward changes nothing")
        return result

    @staticmethod
    def _backward(layer: Any, upstream: np.ndarray) -> dict[str, np.ndarray]:
        grad_input = np.array(layer.backward(upstream.copy()), copy=True)
        grads = {f"grads[{k}]": np.array(v, copy=True) for k, v in layer.grads.items()}
        return {"dE/dX": grad_input, **grads}

    def config_roundtrip(self) -> PropertyResult:
        """get_config() survives JSON, and the factory rebuilds an identical layer from it."""
        name = "config_roundtrip"
        layer, _ = self.make("float64")
        outcome = rebuild_from_config(layer, self.subject.factory, "layer")
        if isinstance(outcome, PropertyResult):
            return outcome
        rebuilt, text = outcome
        rebuilt.build(self.hints.input_shape, np.random.default_rng(self.seed),
                      np.dtype("float64"))
        x = self.data(np.float64)
        what = ("rebuilt from its config", "original")
        results = [compare(name, f"params[{k}]", v, rebuilt.params.get(k), SAME, what)
                   for k, v in layer.params.items()]
        results.append(compare(name, "forward", layer.forward(x), rebuilt.forward(x), SAME,
                               what))
        result = merged(name, results)
        return attrs.evolve(result, detail=f"config {text}") if result.passed else result

    def seeded_build(self) -> PropertyResult:
        name = "seeded_build"
        first, _ = self.make("float32")
        second, _ = self.make("float32")
        if set(first.params) != set(second.params):
            return PropertyResult(name, False, f"two builds have params {sorted(first.params)} "
                                  f"and {sorted(second.params)}")
        for key, value in first.params.items():
            if not np.array_equal(value, second.params[key]):
                return PropertyResult(name, False, f"two builds with seed {self.seed} give "
                                      f"different params[{key!r}]", where=f"params[{key}]")
        return PropertyResult(name, True, f"seed {self.seed} twice: identical parameters")
