"""The plugin author's kit: every built-in passes, and each planted bug fails the right property."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nnframe
from nnframe.core.kinds import KIND_NAMES
from nnframe.core.kinds import kind as kind_named
from nnframe.errors import ConfigError
from nnframe.testing import (
    CheckHints,
    check_component,
    check_layer,
    check_loss,
    check_optimizer,
    worst_element,
)
from tests import planted


def builtin_components():
    registry = nnframe.core.registry.Registry(entry_points=lambda: [])
    return [c for c in registry.load().components() if c.builtin]


@pytest.mark.parametrize("component", builtin_components(), ids=lambda c: f"{c.kind}-{c.name}")
def test_every_builtin_honours_its_contract(component):
    report = check_component(component)
    contract = kind_named(component.kind).check is not None
    assert report.passed and len(report.properties) >= (3 if contract else 1)


def test_the_builtin_kinds_are_all_checked():
    kinds = {c.kind for c in builtin_components()}
    names = {c.name for c in builtin_components()}
    assert kinds == set(KIND_NAMES)
    assert {"dense", "dropout", "softmax", "cross_entropy", "adam"} <= names


def test_missing_factor_of_two_fails_the_input_gradient_with_its_numbers():
    with pytest.raises(AssertionError) as info:
        check_layer(planted.Square, (5,))
    message = str(info.value)
    assert "1 of 12 properties failed" in message
    assert "gradient(input): FAILED" in message
    assert "dE/dX[" in message and "backward" in message and "finite differences" in message
    assert "tolerance rtol 1e-06 + atol" in message
    report = check_layer(planted.Square, (5,), raises=False)
    (failure,) = report.failures
    assert failure.name == "gradient(input)"
    # half the true gradient: wrong by a third of |a| + |n|, 10^5 times the tolerance
    assert failure.error > 1e5
    assert failure.where.startswith("dE/dX[")


def test_sum_instead_of_mean_fails_mean_over_batch_only():
    report = check_loss(planted.SumSquaredError, raises=False)
    assert [f.name for f in report.failures] == ["mean_over_batch"]
    assert "a sum over the batch, not a mean" in report["mean_over_batch"].detail
    assert report["gradient"].passed  # its gradient is right for the sum it computes
    with pytest.raises(AssertionError, match="mean_over_batch: FAILED"):
        check_loss(planted.SumSquaredError)


@pytest.mark.parametrize(
    ("bug", "failed"),
    [
        # the mean over no samples is 0 / 0: the empty batch shows it too
        ("batch_mean", {"gradient(scale)", "empty_batch"}),
        ("output_shape", {"output_shape"}),
        ("float64", {"dtype"}),
        ("updates_params", {"backward_keeps_params", "stateless_inference"}),
        ("caches_at_inference", {"stateless_inference"}),
        ("config", {"config_roundtrip"}),
        ("global_rng", {"seeded_build"}),
        ("flat_reshape", {"empty_batch"}),
    ],
)
def test_each_planted_layer_bug_fails_its_property(bug, failed):
    report = check_layer(planted.Scale, bug=bug, raises=False)
    assert {f.name for f in report.failures} == failed, report.summary()


def test_a_healthy_layer_passes_every_property():
    report = check_layer(planted.Scale, (2, 3))
    assert [p.name for p in report.properties] == [
        "gradient(input)", "gradient(scale)", "output_shape", "parameter_shapes", "dtype",
        "backward_keeps_params", "backward_parameters", "stateless_inference", "large_inputs",
        "empty_batch", "config_roundtrip", "model_file_roundtrip", "seeded_build"]
    assert "not offered" in report["parameter_shapes"].detail


def test_declared_parameter_shapes_must_be_the_built_ones_without_building():
    assert check_layer(planted.DeclaredScale, (2, 3))["parameter_shapes"].passed
    wrong = check_layer(planted.DeclaredScale, (2, 3), bug="declared_shape", raises=False)
    assert [f.name for f in wrong.failures] == ["parameter_shapes"]
    assert ("parameter_shapes((2, 3)) = {'scale': (4,)}, but build((2, 3)) creates "
            "{'scale': (3,)}") in wrong["parameter_shapes"].detail
    building = check_layer(planted.DeclaredScale, (2, 3), bug="builds_to_declare",
                           raises=False)
    assert [f.name for f in building.failures] == ["parameter_shapes"]
    assert "must only compute their shapes" in building["parameter_shapes"].detail


@pytest.mark.parametrize(
    ("optimizer", "failed"),
    [(planted.Ascent, "reduces_quadratic"), (planted.Replacing, "in_place"),
     (planted.HiddenMomentum, "state_roundtrip")],
)
def test_each_planted_optimizer_bug_fails_its_property(optimizer, failed):
    report = check_optimizer(optimizer, raises=False)
    assert [f.name for f in report.failures] == [failed], report.summary()


def test_a_layer_that_cannot_be_built_reports_build_with_a_hint():
    def needs_a_size(size):
        return planted.Scale()

    report = check_layer(needs_a_size, raises=False)
    (failure,) = report.properties
    assert failure.name == "build" and not failure.passed
    assert "size" in failure.detail and "check_hints" in failure.detail


def test_explicit_arguments_override_the_hints():
    report = check_layer("dense", (3,), output_size=2, init="he_normal")
    assert '"init": "he_normal"' in report["config_roundtrip"].detail
    assert '"input_size": 3' in report["config_roundtrip"].detail


def test_bad_hints_on_a_factory_fail_that_component_and_bad_arguments_raise():
    report = check_layer(planted.BadlyHinted, raises=False)
    (failure,) = report.properties
    assert failure.name == "check_hints"
    assert "unknown check hint 'input_shapes'" in failure.detail
    with pytest.raises(ConfigError, match="unknown check hint 'tolerence'"):
        check_layer("tanh", hints={"tolerence": 1e-3})
    with pytest.raises(ConfigError, match="targets must be one of"):
        CheckHints(targets="labels")
    with pytest.raises(ConfigError, match="batch_size"):
        CheckHints(batch_size=1)


def test_dropout_is_checked_with_a_replayed_mask():
    report = check_layer("dropout", (6,), rate=0.5)
    assert report["gradient(input)"].error < 0.01  # a small fraction of the tolerance


def test_report_is_json_safe_and_indexable():
    report = check_optimizer("adam", raises=False)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["kind"] == "optimizer" and data["component"] == "nnframe:adam"
    assert data["passed"] is True
    assert {p["name"] for p in data["properties"]} == {
        "reduces_quadratic", "in_place", "dtype", "state_roundtrip", "config_roundtrip"}
    with pytest.raises(KeyError, match="no property 'gradient'"):
        report["gradient"]


def test_worst_element_names_the_index():
    analytic = np.array([[1.0, 2.0], [3.0, 4.0]])
    numeric = analytic.copy()
    numeric[1, 0] = 6.0
    error, index = worst_element(analytic, numeric)
    assert index == (1, 0) and error == pytest.approx(3 / 9)
    assert worst_element(analytic, numeric[:1])[0] == float("inf")
