"""`check_loss`: does a loss honour the loss contract?"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import numpy as np

from nnframe.core.contracts.loss import accepts_sample_weight
from nnframe.testing.gradients import loss_gradients, loss_scale
from nnframe.testing.hints import LOSS_SHAPE, explicit_hints
from nnframe.testing.properties import (
    ComponentCheck,
    FloatingPointLog,
    compare,
    compare_gradient,
    rebuild_from_config,
    run_check,
    varied_configs,
)
from nnframe.testing.report import CheckReport, PropertyResult
from nnframe.testing.subjects import draw

#: Values computed two ways in float64 that must agree (a mean of means, a repeated batch).
AGREE = 1e-9
#: The magnitude of the predictions of the ``large_inputs`` property.
LARGE = 1e4


def check_loss(
    factory_or_name: Any,
    input_shape: tuple[int, ...] | None = None,
    *,
    hints: Mapping[str, Any] | None = None,
    seed: int = 0,
    raises: bool = True,
    **config: Any,
) -> CheckReport:
    """Check a loss against its contract and return the report.

    ``input_shape`` is one sample's prediction shape; the targets are drawn as the factory's
    ``check_hints`` say (``"targets": "classes"`` for integer labels, see
    `nnframe.testing.hints`). Raises `AssertionError` listing every failed property unless
    ``raises`` is false.
    """
    explicit = explicit_hints(hints, config, input_shape=input_shape)
    return run_check("loss", factory_or_name, explicit, seed, raises, LossCheck)


@attrs.define
class LossCheck(ComponentCheck):
    """The properties of one loss, each checked on a new instance."""

    def properties(self) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("gradient", self.gradient),
            ("mean_over_batch", self.mean_over_batch),
            ("dtype", self.dtype),
            ("large_inputs", self.large_inputs),
            ("sample_weight", self.sample_weight),
            ("config_roundtrip", self.config_roundtrip),
        ]

    def make(self) -> Any:
        return self.subject.make(**self.hints.config)

    def data(self, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(y_true, y_pred)`` for one batch, drawn as the hints say."""
        shape = (self.hints.batch_size, *(self.hints.input_shape or LOSS_SHAPE))
        y_pred = draw(self.hints.inputs, shape, np.random.default_rng([self.seed, 1]), dtype)
        y_true = draw(self.hints.targets, shape, np.random.default_rng([self.seed, 2]), dtype)
        return y_true, y_pred

    def gradient(self) -> PropertyResult:
        y_true, y_pred = self.data(np.float64)
        loss = self.make()
        scale = loss_scale(loss.forward(y_true, y_pred), y_pred)
        analytic, numeric = loss_gradients(loss, y_true, y_pred)
        return compare_gradient("gradient", "dE/dy_pred", numeric, analytic, scale=scale,
                                rtol=self.hints.tolerance)

    def mean_over_batch(self) -> PropertyResult:
        """The value is the mean over the batch: a batch given twice has the same value, and
        so has the mean of the per-sample values. A sum would double. A loss whose
        ``reduction`` is "sum" must be that sum instead, and with "none" the per-sample
        values of a batch are those of its samples. With class weights (a ``weight``
        attribute that is not None) the mean divides by the weights of the targets'
        classes, which differ from sample to sample: only the repeated batch is checked."""
        name = "mean_over_batch"
        loss = self.make()
        reduction = getattr(loss, "reduction", "mean")
        y_true, y_pred = self.data(np.float64)
        if reduction == "none":
            whole = np.asarray(loss.forward(y_true, y_pred))
            parts = np.concatenate([np.asarray(loss.forward(y_true[i:i + 1], y_pred[i:i + 1]))
                                    for i in range(len(y_pred))])
            return compare(name, "values", whole, parts, AGREE,
                           ("of the batch", "of each sample"))
        value = float(loss.forward(y_true, y_pred))
        twice = float(loss.forward(np.concatenate([y_true, y_true]),
                                   np.concatenate([y_pred, y_pred])))
        per_sample = [loss.forward(y_true[i:i + 1], y_pred[i:i + 1])
                      for i in range(len(y_pred))]
        if reduction == "sum":
            samples, twice = float(np.sum(per_sample)), twice / 2
        elif getattr(loss, "weight", None) is not None:
            samples = value
        else:
            samples = float(np.mean(per_sample))
        scale = max(abs(value), 1e-12)
        error = max(abs(twice - value), abs(samples - value)) / scale
        detail = (f"{value:.6g} for a batch of {len(y_pred)}, {twice:.6g} for it twice"
                  f"{' (halved)' if reduction == 'sum' else ''}, {samples:.6g} as the "
                  f"{reduction} of its samples")
        if error > AGREE and reduction == "mean" and math.isclose(twice, 2 * value,
                                                                  rel_tol=1e-6):
            detail += ": a sum over the batch, not a mean"
        return PropertyResult(name, bool(error <= AGREE), detail, error)

    def sample_weight(self) -> PropertyResult:
        """A loss that takes ``sample_weight``: weights all 1 give the unweighted value, a
        weight of 2 counts a sample twice (as the batch with it repeated), and backward
        agrees with finite differences of the weighted loss. Skipped for a loss without
        the argument."""
        name = "sample_weight"
        loss = self.make()
        if not accepts_sample_weight(loss):
            return PropertyResult(name, True, "skipped: forward takes no sample_weight")
        y_true, y_pred = self.data(np.float64)
        n = len(y_pred)
        plain = np.asarray(loss.forward(y_true, y_pred), dtype=np.float64)
        ones = np.asarray(loss.forward(y_true, y_pred, sample_weight=np.ones(n)),
                          dtype=np.float64)
        result = compare(name, "value", plain, ones, AGREE,
                         ("weights all 1", "no weights"))
        if not result.passed:
            return result
        if getattr(loss, "reduction", "mean") != "none":
            weights = np.ones(n)
            weights[0] = 2.0
            doubled = float(loss.forward(y_true, y_pred, sample_weight=weights))
            repeated = float(loss.forward(np.concatenate([y_true[:1], y_true]),
                                          np.concatenate([y_pred[:1], y_pred])))
            result = compare(name, "value", np.float64(repeated), np.float64(doubled),
                             AGREE, ("weight 2 on sample 0", "sample 0 given twice"))
            if not result.passed:
                return result
        weights = np.random.default_rng([self.seed, 3]).uniform(0.5, 2.0, n)
        scale = loss_scale(loss.forward(y_true, y_pred, sample_weight=weights), y_pred)
        analytic, numeric = loss_gradients(loss, y_true, y_pred, sample_weight=weights)
        result = compare_gradient(name, "dE/dy_pred", numeric, analytic, scale=scale,
                                  rtol=self.hints.tolerance)
        if result.passed:
            return PropertyResult(name, True, "weights all 1 change nothing, 2 counts a "
                                  "sample twice, and the weighted gradient is right")
        return result

    def dtype(self) -> PropertyResult:
        """float32 predictions give a finite number and a float32 gradient of their shape."""
        y_true, y_pred = self.data(np.float32)
        loss = self.make()
        value = loss.forward(y_true, y_pred)
        grad = np.asarray(loss.backward())
        wrong = []
        if getattr(loss, "reduction", "mean") == "none":
            value = np.asarray(value)
            if value.dtype != np.float32:
                wrong.append(f"forward (reduction='none') is {value.dtype}")
            value = float(np.sum(value, dtype=np.float64))
        if np.ndim(value) != 0 or not isinstance(value, float | np.floating):
            wrong.append(f"forward returned {type(value).__name__} {value!r}, not a number")
        elif not math.isfinite(value):
            wrong.append(f"forward returned {value}")
        if grad.dtype != np.float32:
            wrong.append(f"backward is {grad.dtype}")
        if grad.shape != y_pred.shape:
            wrong.append(f"backward has shape {grad.shape}, predictions {y_pred.shape}")
        if wrong:
            return PropertyResult("dtype", False, "float32 in: " + "; ".join(wrong))
        return PropertyResult("dtype", True, "float32 in: a number, and a float32 gradient")

    def large_inputs(self) -> PropertyResult:
        """Predictions of magnitude up to 1e4 (far-off logits) give a finite loss and
        gradient in float32, with no overflow on the way; skipped when the hints say the
        loss takes bounded predictions (``inputs`` other than normal, or
        ``large_inputs: False``)."""
        name = "large_inputs"
        if not self.hints.large_inputs or self.hints.inputs != "normal":
            return PropertyResult(name, True, "skipped: the hints exclude large predictions")
        y_true, y_pred = self.data(np.float32)
        y_pred = (np.sign(y_pred) * LARGE).astype(np.float32)
        loss = self.make()
        log = FloatingPointLog()
        with log.errstate():
            value = float(np.sum(loss.forward(y_true, y_pred)))
            grad = np.asarray(loss.backward())
        if error := log.first_error():
            return PropertyResult(name, False, f"predictions of magnitude {LARGE:g}: "
                                  f"{error} (compute with a numerically stable formula)")
        if not (math.isfinite(value) and np.isfinite(grad).all()):
            return PropertyResult(name, False, f"predictions of magnitude {LARGE:g}: the "
                                  f"loss is {value} or its gradient is not finite")
        return PropertyResult(name, True, f"predictions of magnitude {LARGE:g}: finite")

    def config_roundtrip(self) -> PropertyResult:
        """The config rebuilds a loss of the same value: with the hinted config, and with
        each numeric or boolean argument changed from its default."""
        name = "config_roundtrip"
        y_true, y_pred = self.data(np.float64)
        configs = [dict(self.hints.config), *varied_configs(self.subject.factory,
                                                            self.hints.config)]
        for config in configs:
            try:
                loss = self.subject.make(**config)
            except Exception:
                if config is configs[0]:
                    raise
                continue
            outcome = rebuild_from_config(loss, self.subject.factory, "loss")
            if isinstance(outcome, PropertyResult):
                return outcome
            rebuilt, _ = outcome
            result = compare(name, "value", np.float64(loss.forward(y_true, y_pred)),
                             np.float64(rebuilt.forward(y_true, y_pred)), AGREE,
                             ("rebuilt from its config", "original"))
            if not result.passed:
                return attrs.evolve(result, detail=f"made with {config}: {result.detail}")
        return PropertyResult(name, True, f"{len(configs)} configs rebuild equal losses")
