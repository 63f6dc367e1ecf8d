"""sample_weight and class_weight in Network.fit, in configs and in nnframe.sklearn."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.config import load_config
from nnframe.weights import class_weights, sample_weights

PENGUINS = Path(__file__).resolve().parents[1] / "examples" / "data" / "penguins.csv"


def blobs(rng: np.random.Generator, counts=(40, 15, 5)) -> tuple[np.ndarray, np.ndarray]:
    y = np.repeat(np.arange(len(counts)), counts)
    x = rng.normal(size=(len(y), 3)) + y[:, None]
    return x, y


def trained(x, y, **weights) -> nnframe.Network:
    net = nnframe.Network([nnframe.layer("dense", output_size=3)], dtype="float64")
    net.use("cross_entropy", "sgd").fit(x, y, epochs=5, batch_size=len(x), shuffle=False,
                                        learning_rate=0.5, seed=0, verbose=0, **weights)
    return net


def test_a_weight_of_two_is_a_repeated_sample(rng):
    x, y = blobs(rng)
    weights = rng.integers(0, 3, size=len(y)).astype(float)
    repeat = np.repeat(np.arange(len(y)), weights.astype(int))
    weighted = trained(x, y, sample_weight=weights)
    repeated = trained(x[repeat], y[repeat])
    np.testing.assert_allclose(weighted.predict(x), repeated.predict(x), rtol=1e-10)
    assert not np.allclose(trained(x, y).predict(x), repeated.predict(x))


def test_balanced_class_weights_are_scikit_learns(rng):
    compute = pytest.importorskip("sklearn.utils.class_weight").compute_class_weight
    _, y = blobs(rng)
    expected = compute("balanced", classes=np.unique(y), y=y)
    np.testing.assert_allclose(class_weights(y, "balanced"), expected[y])
    one_hot = np.eye(3)[y]
    np.testing.assert_allclose(sample_weights(one_hot, None, "balanced"), expected[y])
    mapping = class_weights(y, {"Gentoo": 4.0, 0: 0.5}, ("Adelie", "Chinstrap", "Gentoo"))
    assert mapping[0] == 0.5 and mapping[-1] == 4.0 and mapping[45] == 1.0
    assert sample_weights(y, np.ones(len(y)), None) is None  # all ones: nothing to weigh


def test_class_weight_balanced_helps_the_rare_class(rng):
    x, y = blobs(rng, (90, 10, 10))
    plain = trained(x, y)
    balanced = trained(x, y, class_weight="balanced")
    rare = y > 0
    hits = [np.mean(np.argmax(n.predict(x[rare]), axis=1) == y[rare]) for n in (plain, balanced)]
    assert hits[1] > hits[0]


def test_bad_weights_are_refused_before_training(rng):
    x, y = blobs(rng)
    net = nnframe.Network([nnframe.layer("dense", output_size=3)]).use("cross_entropy", "sgd")
    with pytest.raises(nnframe.DataError, match=r"shape \(3,\), but there are 60 samples"):
        net.fit(x, y, sample_weight=[1, 2, 3], learning_rate=0.1, verbose=0)
    with pytest.raises(nnframe.DataError, match="finite numbers >= 0"):
        net.fit(x, y, sample_weight=-np.ones(60), learning_rate=0.1, verbose=0)
    with pytest.raises(nnframe.ConfigError, match="mapping or 'balanced'"):
        net.fit(x, y, class_weight="even", learning_rate=0.1, verbose=0)

    class OldLoss(nnframe.Loss):  # a third-party loss written before weights existed
        def forward(self, y_true, y_pred):
            self._grad = y_pred - y_true
            return float(np.mean(self._grad ** 2))

        def backward(self):
            return self._grad

    old = nnframe.Network([nnframe.layer("dense", output_size=1)]).use(OldLoss(), "sgd")
    with pytest.raises(nnframe.ConfigError, match="takes no sample_weight"):
        old.fit(x, y[:, None].astype(float), sample_weight=np.ones(60) * 2,
                learning_rate=0.1, verbose=0)


def test_class_weight_in_a_config_by_class_name(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(textwrap.dedent(f"""
        [model]
        layers = [{{ type = "standardize" }}, {{ type = "dense", output_size = 3 }}]
        [loss]
        type = "cross_entropy"
        [optimizer]
        type = "adam"
        [data]
        dataset = {{ type = "csv", path = "{PENGUINS}", target = "species", missing = "drop" }}
        [train]
        epochs = 1
        class_weight = {{ Chinstrap = 2.0 }}
    """))
    assert load_config(path).train.class_weight == {"Chinstrap": 2.0}
    from nnframe.cli import main

    with pytest.raises(SystemExit) as info:
        main(["train", str(path), "-o", str(tmp_path / "w.npz"), "-q"])
    assert info.value.code == 0
    path.write_text(path.read_text().replace("{ Chinstrap = 2.0 }", '"even"'))
    with pytest.raises(nnframe.ConfigError, match=r'train\.class_weight: must be "balanced"'):
        load_config(path)


@pytest.mark.parametrize("kind", ["NetworkClassifier", "NetworkRegressor"])
def test_float64_estimators_pass_scikit_learns_weight_equivalence(kind):
    pytest.importorskip("sklearn")
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

    import nnframe.sklearn

    estimator = getattr(nnframe.sklearn, kind)(dtype="float64", random_state=0)
    check_sample_weight_equivalence_on_dense_data(kind, estimator)
