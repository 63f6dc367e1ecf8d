"""The losses' options (reduction, per-sample weights, class weights, label smoothing,
K-dimensional cross-entropy, huber's delta, smooth_l1's beta): float64 finite differences,
the kit, saved configs, and parity with PyTorch where it is installed."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe
from nnframe.core.contracts import Loss, accepts_sample_weight
from nnframe.errors import ConfigError, DataError
from nnframe.testing import assert_loss_gradient, check_loss

ELEMENTWISE = [("mse", {}), ("mae", {}), ("huber", {"delta": 2.5}), ("smooth_l1", {"beta": 2.5}),
               ("smooth_l1", {"beta": 0.0}), ("binary_cross_entropy", {})]
CROSS_ENTROPY = [{}, {"weight": [0.5, 2.0, 1.0, 3.0]}, {"label_smoothing": 0.2},
                 {"weight": [0.5, 2.0, 1.0, 3.0], "label_smoothing": 0.3},
                 {"ignore_index": -100, "label_smoothing": 0.1},
                 {"ignore_index": 1, "weight": [0.5, 2.0, 1.0, 3.0]}]


def with_ignored(y_true, config, rng):
    """Labels with some set to the ignore_index of the config, if it has one."""
    if "ignore_index" in config:
        y_true = y_true.copy()
        y_true[rng.random(y_true.shape) < 0.3] = config["ignore_index"]
    return y_true
REDUCTIONS = ["mean", "sum", "none"]


def elementwise_data(name, rng, shape=(5, 3, 2)):
    y_pred = rng.standard_normal(shape) * 3
    if name == "binary_cross_entropy":
        return rng.integers(0, 2, shape).astype(np.float64), y_pred
    y_true = rng.standard_normal(shape)
    gap = np.abs(y_pred - y_true)
    y_pred[(gap < 1e-2) | (np.abs(gap - 2.5) < 1e-2)] += 0.1  # away from the kinks
    return y_true, y_pred


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "config"), ELEMENTWISE)
@pytest.mark.parametrize("weighted", [False, True])
def test_elementwise_gradients(name, config, reduction, weighted, rng):
    y_true, y_pred = elementwise_data(name, rng)
    weights = {"sample_weight": rng.uniform(0.2, 2.0, 5)} if weighted else {}
    loss = nnframe.loss(name, reduction=reduction, **config)
    assert_loss_gradient(loss, y_true, y_pred, **weights)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("config", CROSS_ENTROPY)
@pytest.mark.parametrize("positions", [(), (3, 2)])
@pytest.mark.parametrize("targets", ["labels", "probabilities"])
def test_cross_entropy_gradients(config, reduction, positions, targets, rng):
    y_pred = rng.standard_normal((4, *positions, 4))
    if targets == "labels":
        y_true = with_ignored(rng.integers(0, 4, (4, *positions)), config, rng)
    else:
        y_true = rng.dirichlet(np.ones(4), size=(4, *positions))
    loss = nnframe.loss("cross_entropy", reduction=reduction, **config)
    assert_loss_gradient(loss, y_true, y_pred)
    weights = rng.uniform(0.2, 2.0, 4)
    assert_loss_gradient(loss, y_true, y_pred, sample_weight=weights)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "config"), [*ELEMENTWISE, *(("cross_entropy", c)
                                                              for c in CROSS_ENTROPY)])
def test_the_kit_passes_every_option(name, config, reduction):
    check_loss(name, reduction=reduction, **config)


def test_the_kit_checks_cross_entropy_on_images():
    # finite differences of a mean over 18 positions, in float64: 1e-6 is at the noise
    check_loss("cross_entropy", (3, 2, 4), hints={"tolerance": 1e-5},
               weight=[1.0, 2.0, 0.5, 1.0], label_smoothing=0.1)


@pytest.mark.parametrize(("name", "config"), [*ELEMENTWISE, ("cross_entropy", {}),
                                              ("cross_entropy", CROSS_ENTROPY[3])])
def test_weighted_mean_is_the_weighted_mean_of_the_samples(name, config, rng):
    if name == "cross_entropy":
        y_true, y_pred = rng.integers(0, 4, 6), rng.standard_normal((6, 4))
    else:
        y_true, y_pred = elementwise_data(name, rng, (6, 3))
    weights = rng.uniform(0.0, 2.0, 6)
    loss = nnframe.loss(name, **config)
    samples = np.array([loss.forward(y_true[i:i + 1], y_pred[i:i + 1]) for i in range(6)])
    if name == "cross_entropy" and "weight" in config:
        # each sample's mean divides by its class weight; the batch's by their sum
        class_weights = np.asarray(config["weight"])[y_true]
        expected = np.sum(weights * samples * class_weights) / np.sum(weights * class_weights)
    else:
        expected = np.sum(weights * samples) / np.sum(weights)
    assert loss.forward(y_true, y_pred, sample_weight=weights) == pytest.approx(expected,
                                                                                rel=1e-12)


def test_sum_and_none_reductions(rng):
    y_true, y_pred = elementwise_data("mse", rng)
    errors = (y_pred - y_true) ** 2
    assert nnframe.loss("mse", reduction="sum").forward(y_true, y_pred) == pytest.approx(
        errors.sum())
    np.testing.assert_allclose(nnframe.loss("mse", reduction="none").forward(y_true, y_pred),
                               errors)
    weights = rng.uniform(0, 1, 5)
    np.testing.assert_allclose(
        nnframe.loss("mse", reduction="none").forward(y_true, y_pred, sample_weight=weights),
        errors * weights[:, None, None])


def test_float32_stays_float32_with_every_option(rng):
    y_pred = rng.standard_normal((4, 3, 5)).astype(np.float32)
    weights = np.ones(4, np.float32)
    loss = nnframe.loss("cross_entropy", weight=[1, 2, 3, 4, 5], label_smoothing=0.1,
                        reduction="none")
    values = loss.forward(rng.integers(0, 5, (4, 3)), y_pred, sample_weight=weights)
    assert values.dtype == np.float32 and values.shape == (4, 3)
    assert loss.backward().dtype == np.float32
    huber = nnframe.loss("smooth_l1", beta=0.5, reduction="sum")
    huber.forward(np.zeros_like(y_pred), y_pred, sample_weight=weights)
    assert huber.backward().dtype == np.float32


def test_weights_that_sum_to_zero_give_zero_and_no_gradient(rng):
    y_true, y_pred = elementwise_data("mse", rng)
    loss = nnframe.loss("mse")
    assert loss.forward(y_true, y_pred, sample_weight=np.zeros(5)) == 0.0
    assert not loss.backward().any()


@pytest.mark.parametrize("weights", [np.ones(4), np.ones((5, 1)), -np.ones(5),
                                     np.full(5, np.nan), np.array(["a"] * 5)])
def test_bad_sample_weights_are_refused(weights, rng):
    y_true, y_pred = elementwise_data("mse", rng)
    with pytest.raises(DataError, match="sample_weight"):
        nnframe.loss("mse").forward(y_true, y_pred, sample_weight=weights)


@pytest.mark.parametrize(("config", "match"), [
    ({"reduction": "avg"}, "reduction"), ({"label_smoothing": 1.5}, "label_smoothing"),
    ({"weight": [1.0, -1.0]}, "finite and >= 0"), ({"weight": [[1.0, 2.0]]}, "one number"),
    ({"weight": "abc"}, "one number")])
def test_bad_options_are_refused(config, match):
    with pytest.raises(ConfigError, match=match):
        nnframe.loss("cross_entropy", **config)


def test_class_weights_must_match_the_classes(rng):
    loss = nnframe.loss("cross_entropy", weight=[1.0, 2.0])
    with pytest.raises(DataError, match="one weight per class"):
        loss.check_targets(np.zeros(3, int), (4,))
    with pytest.raises(DataError, match="one weight per class"):
        loss.forward(np.zeros(3, int), rng.standard_normal((3, 4)))


def test_ignored_labels_count_for_nothing(rng):
    y_pred, y_true = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    y_true[[1, 4]] = -100
    loss = nnframe.loss("cross_entropy", ignore_index=-100, label_smoothing=0.2)
    kept = np.array([0, 2, 3, 5])
    value = loss.forward(y_true, y_pred)
    assert not loss.backward()[[1, 4]].any()
    assert value == pytest.approx(loss.forward(y_true[kept], y_pred[kept]), rel=1e-12)
    loss.check_targets(y_true, (3,))
    with pytest.raises(DataError, match="label -100 is out of range"):
        nnframe.loss("cross_entropy").check_targets(y_true, (3,))
    with pytest.raises(ConfigError, match="ignore_index"):
        nnframe.loss("cross_entropy", ignore_index=1.5)


def test_cross_entropy_checks_targets_per_position():
    loss = nnframe.loss("cross_entropy")
    loss.check_targets(np.zeros((2, 3, 3), int), (3, 3, 4))
    loss.check_targets(np.full((2, 3, 3, 4), 0.25), (3, 3, 4))
    with pytest.raises(DataError, match=r"integer labels \(N, 3, 3\)"):
        loss.check_targets(np.zeros((2, 3), int), (3, 3, 4))
    with pytest.raises(DataError, match="out of range"):
        loss.check_targets(np.full((2, 3, 3), 4), (3, 3, 4))


def test_a_network_refuses_to_train_on_unreduced_values():
    net = nnframe.Network([nnframe.layer("dense", 2, 1)])
    with pytest.raises(ConfigError, match="reduction='none'"):
        net.use(nnframe.loss("mse", reduction="none"))


def test_configs_keep_their_old_form_and_round_trip():
    assert nnframe.loss("mse").get_config() == {}
    assert nnframe.loss("cross_entropy").get_config() == {}
    assert nnframe.loss("huber", delta=2.0).get_config() == {"delta": 2.0}
    config = {"weight": [1.0, 2.0], "label_smoothing": 0.1, "reduction": "sum"}
    assert nnframe.loss("cross_entropy", **config).get_config() == config


def test_a_model_saved_with_the_old_defaults_loads_with_them(tmp_path, rng):
    """A model file's loss config from before the options (no reduction, no weight): it
    loads as the default loss, with the same value."""
    net = nnframe.Network([nnframe.layer("dense", 3, 4)]).use("cross_entropy", "sgd")
    x, y = rng.standard_normal((8, 3)).astype(np.float32), rng.integers(0, 4, 8)
    net.fit(x, y, epochs=1, verbose=0, seed=0)
    net.save(tmp_path / "model.npz")
    loaded = nnframe.load(tmp_path / "model.npz")
    assert loaded.loss.get_config() == {}
    assert loaded.evaluate(x, y)["loss"] == net.evaluate(x, y)["loss"]


def test_accepts_sample_weight_reads_the_signature():
    class Old(Loss):
        def forward(self, y_true, y_pred):
            return 0.0

    class Keywords(Loss):
        def forward(self, y_true, y_pred, **kwargs):
            return 0.0

    assert not accepts_sample_weight(Old())
    assert accepts_sample_weight(Keywords())
    assert accepts_sample_weight(nnframe.loss("huber"))
    report = check_loss(Old, raises=False)
    assert report["sample_weight"].detail.startswith("skipped")


# -- parity with PyTorch -----------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (an optional "
                                               "cross-check)")


def torch_run(torch, function, y_pred, channels_last=False, **kwargs):
    """(value, dE/dy_pred of its sum) from a torch functional loss."""
    logits = np.moveaxis(y_pred, -1, 1) if channels_last else y_pred
    tensor = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    value = function(tensor, **kwargs)
    value.sum().backward()
    grad = tensor.grad.numpy()
    return value.detach().numpy(), np.moveaxis(grad, 1, -1) if channels_last else grad


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "config"), ELEMENTWISE)
def test_elementwise_losses_match_pytorch(name, config, reduction, torch, rng):
    functional = torch.nn.functional
    function = {"mse": functional.mse_loss, "mae": functional.l1_loss,
                "huber": functional.huber_loss, "smooth_l1": functional.smooth_l1_loss,
                "binary_cross_entropy": functional.binary_cross_entropy_with_logits}[name]
    y_true, y_pred = elementwise_data(name, rng)
    loss = nnframe.loss(name, reduction=reduction, **config)
    value = loss.forward(y_true, y_pred)
    expected, grad = torch_run(torch, function, y_pred, target=torch.tensor(y_true),
                               reduction=reduction, **config)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.backward(), grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("config", CROSS_ENTROPY)
@pytest.mark.parametrize("positions", [(), (3, 2)])
@pytest.mark.parametrize("targets", ["labels", "probabilities"])
def test_cross_entropy_matches_pytorch(config, reduction, positions, targets, torch, rng):
    y_pred = rng.standard_normal((5, *positions, 4)) * 2
    if targets == "labels":
        y_true = with_ignored(rng.integers(0, 4, (5, *positions)), config, rng)
        torch_target = torch.tensor(y_true)
    else:
        y_true = rng.dirichlet(np.ones(4), size=(5, *positions))
        torch_target = torch.tensor(np.moveaxis(y_true, -1, 1))
    weight = config.get("weight")
    loss = nnframe.loss("cross_entropy", reduction=reduction, **config)
    value = loss.forward(y_true, y_pred)
    expected, grad = torch_run(
        torch, torch.nn.functional.cross_entropy, y_pred, channels_last=True,
        target=torch_target, reduction=reduction,
        weight=None if weight is None else torch.tensor(weight, dtype=torch.float64),
        label_smoothing=config.get("label_smoothing", 0.0),
        # torch refuses ignore_index with probabilities, where it means nothing
        ignore_index=config.get("ignore_index", -100) if targets == "labels" else -100)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.backward(), grad, rtol=1e-12, atol=1e-14)


def test_class_weighted_sample_weights_match_a_repeated_torch_batch(torch, rng):
    """Integer sample weights count a sample that many times: torch's class-weighted
    mean over the batch with each sample repeated is the weighted value."""
    y_pred, y_true = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    counts = np.array([1, 3, 0, 2, 1])
    weight = [0.5, 2.0, 1.0, 3.0]
    loss = nnframe.loss("cross_entropy", weight=weight, label_smoothing=0.1)
    value = loss.forward(y_true, y_pred, sample_weight=counts.astype(float))
    expected, _ = torch_run(torch, torch.nn.functional.cross_entropy,
                            np.repeat(y_pred, counts, axis=0),
                            target=torch.tensor(np.repeat(y_true, counts)),
                            weight=torch.tensor(weight, dtype=torch.float64),
                            label_smoothing=0.1)
    assert value == pytest.approx(float(expected), rel=1e-12)
