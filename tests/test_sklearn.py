"""nnframe.sklearn: scikit-learn's estimator checks, and the estimators in scikit-learn's tools.

The nox tests session installs the ``sklearn`` extra, so these always run there; the
importorskip only lets a bare checkout without scikit-learn run the rest of the suite.
"""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import attrs
import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_classification, make_regression
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_methods_subset_invariance,
    parametrize_with_checks,
)

import nnframe
from nnframe.errors import ConfigError, UnknownComponentError
from nnframe.sklearn import NetworkClassifier, NetworkRegressor
from nnframe.sklearn._stopping import StopWhenStalled
from tests.fake_plugins import plugin_module

# -- scikit-learn's estimator checks -----------------------------------------------------

#: Why a check is expected to fail, per check name (scikit-learn's own xfail mechanism).
FLOAT32_ROUNDING = (
    "float32 matrix products round differently for one sample than for a batch (BLAS "
    "picks another kernel), so an output may differ from the batch's in its last bit "
    "(~1e-7), and the check's tolerance is atol=1e-7; with dtype='float64' it passes "
    "(test_float64_predictions_do_not_depend_on_the_batch)"
)


WEIGHTS_FLOAT32 = (
    "weights of 2 and repeated samples give the same full-batch gradients, but summed in "
    "another order: float32 predictions then differ by ~1e-7 against the check's tolerance "
    "of atol=1e-7 (with dtype='float64' it passes)"
)


WEIGHTS_VALIDATION = (
    "a validation split holds out other samples from repeated rows than from weighted "
    "ones (and early stopping then follows another validation loss)"
)


def expected_failed_checks(estimator) -> dict[str, str]:
    failing = {}
    if np.dtype(estimator.dtype) == np.float32:
        failing = {"check_methods_subset_invariance": FLOAT32_ROUNDING,
                   "check_sample_weight_equivalence_on_dense_data": WEIGHTS_FLOAT32}
    if estimator.validation_fraction:
        failing["check_sample_weight_equivalence_on_dense_data"] = WEIGHTS_VALIDATION
    return failing


@parametrize_with_checks(
    [
        NetworkClassifier(),
        NetworkRegressor(),
        # the other paths: layer dicts, one-hot targets (mse), an optimizer dict, a
        # stratified validation split with early stopping, float64
        NetworkClassifier(layers=[{"type": "dense", "output_size": 32}, "tanh"], loss="mse",
                          optimizer={"type": "sgd", "momentum": 0.9}, learning_rate=0.05,
                          validation_fraction=0.2, n_iter_no_change=5, epochs=60),
        NetworkRegressor(hidden_layers=(32, 16), loss={"type": "huber", "delta": 2.0},
                         validation_fraction=0.2, n_iter_no_change=5, dtype="float64"),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [NetworkClassifier, NetworkRegressor])
def test_float64_predictions_do_not_depend_on_the_batch(estimator):
    check_methods_subset_invariance(estimator.__name__,
                                    estimator(dtype="float64", random_state=0))


# -- data ----------------------------------------------------------------------------------


def iris(labels: str = "names"):
    """Iris with string labels ("setosa", ...) or the integer classes."""
    data = load_iris()
    y = data.target_names[data.target] if labels == "names" else data.target
    return train_test_split(data.data, y, test_size=0.3, random_state=0, stratify=y)


def quick(estimator=NetworkClassifier, **params):
    """An estimator that trains in a blink on the small data sets here."""
    defaults = {"hidden_layers": (32,), "learning_rate": 0.01, "epochs": 60, "batch_size": 32,
                "random_state": 0}
    return estimator(**{**defaults, **params})


def weights(estimator) -> list[np.ndarray]:
    return [p.value.copy() for p in estimator.network_.parameters()]


# -- parameters and attributes --------------------------------------------------------------


def test_the_network_follows_the_parameters():
    x, _, y, _ = iris()
    model = NetworkClassifier(hidden_layers=(16, 8), activation="tanh", epochs=2).fit(x, y)
    names = [type(layer).__name__ for layer in model.network_.layers]
    assert names == ["Dense", "Tanh", "Dense", "Tanh", "Dense"]
    sizes = [layer.output_size for layer in model.network_.layers[::2]]
    assert sizes == [16, 8, 3]
    assert model.network_.dtype == np.float32
    assert model.network_.layers[0].params["weights"].dtype == np.float32
    assert type(model.network_.optimizer).__name__ == "Adam"
    assert model.network_.optimizer.learning_rate == 0.001
    assert model.n_features_in_ == 4 and model.n_iter_ == 2
    assert list(model.history_) == ["loss", "accuracy"] and len(model.history_["loss"]) == 2


def test_layers_as_dicts_and_names_replace_hidden_layers():
    x, _, y, _ = iris()
    model = quick(layers=[{"type": "dense", "output_size": 12}, "leaky_relu",
                          {"type": "dropout", "rate": 0.1}], hidden_layers=(99,), epochs=2)
    model.fit(x, y)
    names = [type(layer).__name__ for layer in model.network_.layers]
    assert names == ["Dense", "LeakyReLU", "Dropout", "Dense"]
    assert model.network_.layers[0].output_size == 12
    assert model.network_.layers[2].rate == 0.1


def test_loss_and_optimizer_as_dicts_and_the_learning_rate():
    x, y = make_regression(60, 3, random_state=0)
    model = quick(NetworkRegressor, loss={"type": "huber", "delta": 3.0},
                  optimizer={"type": "adamw", "weight_decay": 0.05, "learning_rate": 0.5},
                  learning_rate=None, epochs=1).fit(x, y)
    assert model.network_.loss.delta == 3.0
    assert model.network_.optimizer.weight_decay == 0.05
    assert model.network_.optimizer.learning_rate == 0.5  # None keeps the dict's rate
    model.set_params(learning_rate=0.02).fit(x, y)
    assert model.network_.optimizer.learning_rate == 0.02


def test_parameters_are_only_stored_and_never_changed_by_fit():
    layers = [{"type": "dense", "output_size": 8}, "relu"]
    optimizer = {"type": "sgd", "momentum": 0.5}
    model = NetworkClassifier(layers=layers, optimizer=optimizer, epochs=3)
    assert model.layers is layers and model.optimizer is optimizer
    x, _, y, _ = iris()
    model.fit(x, y)
    assert layers == [{"type": "dense", "output_size": 8}, "relu"]
    assert optimizer == {"type": "sgd", "momentum": 0.5}
    assert model.get_params()["layers"] is layers


@attrs.define(eq=False)
class Stack(nnframe.Layer):
    """A stand-in composite layer: holds layers (never runs them)."""

    layers: list = attrs.field(factory=list)
    branches: list = attrs.field(factory=list)
    names: list = attrs.field(factory=list)

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output


def test_nested_layer_tables_become_layers_as_in_a_config():
    def register_layers(register):
        register("stack", Stack)

    nnframe.get_registry().register_plugin(
        plugin_module("stacks", register_layers=register_layers), "stacks")
    x, _, y, _ = iris()
    model = quick(layers=[{"type": "stack", "layers": [{"type": "dense", "output_size": 4}],
                           "branches": [[{"type": "tanh"}], [{"type": "relu"}, {"type": "tanh"}]],
                           "names": ["tanh"]}], epochs=1)
    model.fit(x, y)
    stack = model.network_.layers[0]
    assert type(stack.layers[0]).__name__ == "Dense" and stack.layers[0].output_size == 4
    assert [[type(layer).__name__ for layer in branch] for branch in stack.branches] == [
        ["Tanh"], ["ReLU", "Tanh"]]
    assert stack.names == ["tanh"]  # only tables are layers; other values pass unchanged
    with pytest.raises(UnknownComponentError, match=r"layers\[0\]\.layers\[1\]: .*'dense'"):
        quick(layers=[{"type": "stack", "layers": [{"type": "relu"}, {"type": "dens"}]}]
              ).fit(x, y)


# -- classification -------------------------------------------------------------------------


def test_string_labels_in_and_out():
    x_train, x_test, y_train, y_test = iris("names")
    model = quick().fit(x_train, y_train)
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    predicted = model.predict(x_test)
    assert predicted.dtype == model.classes_.dtype and set(predicted) <= set(model.classes_)
    assert model.score(x_test, y_test) > 0.9
    proba = model.predict_proba(x_test)
    assert proba.shape == (len(x_test), 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.classes_[proba.argmax(axis=1)], predicted)


def test_binary_labels_use_two_softmax_outputs():
    x, y = make_classification(120, 5, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    model = quick().fit(x, labels)
    assert model.network_.layers[-1].output_size == 2
    assert model.predict_proba(x).shape == (120, 2)
    assert model.score(x, labels) > 0.9


def test_predict_proba_needs_a_loss_on_logits():
    x, _, y, _ = iris()
    model = quick(loss="mse").fit(x, y)
    assert not hasattr(model, "predict_proba")
    assert model.score(x, y) > 0.8  # trained on one-hot rows
    assert hasattr(NetworkClassifier(), "predict_proba")


def test_a_column_of_labels_warns_and_trains():
    x, _, y, _ = iris("numbers")
    with pytest.warns(DataConversionWarning):
        quick(epochs=2).fit(x, y.reshape(-1, 1))


# -- regression -----------------------------------------------------------------------------


def test_multi_output_regression():
    x, y = make_regression(300, 6, n_targets=3, noise=0.1, random_state=0)
    y = y / y.std(axis=0)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0)
    model = NetworkRegressor(hidden_layers=(64,), learning_rate=0.01, random_state=0)
    model.fit(x_train, y_train)
    assert model.n_outputs_ == 3 and model.network_.layers[-1].output_size == 3
    predicted = model.predict(x_test)
    assert predicted.shape == (len(x_test), 3) and predicted.dtype == np.float64
    assert model.score(x_test, y_test) > 0.95


def test_one_output_predicts_a_vector():
    x, y = make_regression(100, 4, noise=0.1, random_state=0)
    y = y / y.std()
    for targets in (y, y.reshape(-1, 1)):
        model = quick(NetworkRegressor).fit(x, targets)
        assert model.n_outputs_ == 1 and model.predict(x).shape == (100,)
        assert model.score(x, y) > 0.9


# -- scikit-learn's tools -----------------------------------------------------------------


def test_pipeline_with_a_scaler():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), quick(hidden_layers=(64,), epochs=20))
    assert model.fit(x_train, y_train).score(x_test, y_test) > 0.95


def test_grid_search_over_a_pipeline():
    x_train, x_test, y_train, y_test = iris()
    pipe = Pipeline([("scale", StandardScaler()), ("net", quick(epochs=30))])
    search = GridSearchCV(pipe, {"net__hidden_layers": [(8,), (16, 16)],
                                 "net__activation": ["relu", "tanh"]}, cv=3)
    search.fit(x_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["net__hidden_layers"] in [(8,), (16, 16)]
    assert search.score(x_test, y_test) > 0.85
    assert search.best_estimator_["net"].network_.layers[0].output_size == (
        search.best_params_["net__hidden_layers"][0])


def test_cross_val_score_for_both():
    x, _, y, _ = iris()
    scores = cross_val_score(make_pipeline(StandardScaler(), quick()), x, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8
    xr, yr = make_regression(150, 4, noise=0.1, random_state=0)
    scores = cross_val_score(make_pipeline(StandardScaler(), quick(NetworkRegressor)),
                             xr, yr / yr.std(), cv=3)
    assert scores.min() > 0.9


def test_clone_copies_parameters_not_the_fit():
    x, _, y, _ = iris()
    model = quick(layers=[{"type": "dense", "output_size": 8}, "relu"]).fit(x, y)
    twin = clone(model)
    assert twin.get_params() == model.get_params()
    assert twin.layers is not model.layers  # deep-copied, as scikit-learn does
    assert not hasattr(twin, "network_") and not hasattr(twin, "classes_")
    with pytest.raises(NotFittedError):
        twin.predict(x)
    np.testing.assert_array_equal(twin.fit(x, y).predict_proba(x), model.predict_proba(x))


# -- reproducibility, warm start, partial_fit ---------------------------------------------


def test_random_state_gives_bit_identical_fits():
    x, y = make_classification(200, 8, n_classes=3, n_informative=4, random_state=1)
    runs = [quick(random_state=5, validation_fraction=0.2).fit(x, y) for _ in range(2)]
    # Exact: the same seed, shapes and operations in one process
    for first, second in zip(weights(runs[0]), weights(runs[1]), strict=True):
        assert np.array_equal(first, second)
    assert runs[0].history_ == runs[1].history_
    other = quick(random_state=6, validation_fraction=0.2).fit(x, y)
    assert not np.array_equal(weights(other)[0], weights(runs[0])[0])
    state = np.random.RandomState(3)
    a, b = (quick(random_state=state).fit(x, y) for _ in range(2))
    assert not np.array_equal(weights(a)[0], weights(b)[0])  # the generator moved on


def test_refit_starts_over_and_warm_start_continues():
    x, _, y, _ = iris()
    model = quick(epochs=5, n_iter_no_change=None).fit(x, y)
    first = weights(model)
    network = model.network_
    model.fit(x, y)
    assert model.network_ is not network and model.n_iter_ == 5
    assert all(np.array_equal(a, b) for a, b in zip(first, weights(model), strict=True))

    model.set_params(warm_start=True).fit(x, y)
    assert model.n_iter_ == 10 and len(model.history_["loss"]) == 10
    longer = quick(epochs=10, n_iter_no_change=None).fit(x, y)
    for a, b in zip(weights(model), weights(longer), strict=True):
        np.testing.assert_array_equal(a, b)  # 5 + 5 warm epochs equal 10 epochs
    model.fit(x[y != "setosa"], y[y != "setosa"])  # a subset of the classes is fine
    with pytest.raises(ValueError, match=r"labels \['unseen'\] that are not in classes_"):
        model.fit(x[:3], ["unseen", "setosa", "setosa"])


def test_partial_fit_trains_one_epoch_per_call():
    x, _, y, _ = iris()
    classes = np.unique(y)
    model = quick()
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        model.partial_fit(x, y)
    for _ in range(3):
        model.partial_fit(x[:50], y[:50], classes=classes)
    assert model.n_iter_ == 3 and model.classes_.tolist() == classes.tolist()
    before = weights(model)
    model.partial_fit(x[50:], y[50:])
    assert not np.array_equal(before[0], weights(model)[0])
    with pytest.raises(ValueError, match="not the same as on the first call"):
        model.partial_fit(x, y, classes=classes[:2])
    regressor = quick(NetworkRegressor)
    xr, yr = make_regression(50, 3, random_state=0)
    regressor.partial_fit(xr, yr).partial_fit(xr, yr)
    assert regressor.n_iter_ == 2


def test_validation_fraction_stops_early_and_keeps_the_best_weights():
    x, y = make_classification(300, 10, flip_y=0.3, random_state=0)
    model = NetworkClassifier(hidden_layers=(128,), learning_rate=0.01, epochs=300,
                              validation_fraction=0.25, n_iter_no_change=5, tol=0.0,
                              random_state=0)
    model.fit(x, y)
    history = model.history_
    assert model.n_iter_ < 300 and len(history["val_loss"]) == model.n_iter_
    best = int(np.argmin(history["val_loss"]))
    assert model.n_iter_ == best + 1 + 6  # stopped after 6 epochs without improvement
    _, x_val, _, y_val = train_test_split(x, y, test_size=0.25, stratify=y,
                                          random_state=_split_seed(0))
    loss = model.network_.evaluate(x_val, np.searchsorted(model.classes_, y_val))["loss"]
    assert loss == pytest.approx(history["val_loss"][best], rel=1e-5)


def _split_seed(random_state: int) -> int:
    """The seed the estimators draw for the validation split (after the network's)."""
    return int(np.random.RandomState(random_state).randint(2**31 - 1, size=2)[1])


def test_training_loss_stops_early_like_mlp_and_none_trains_every_epoch():
    x, _, y, _ = iris()
    stopped = quick(epochs=500, tol=0.5).fit(x, y)  # nothing improves by 0.5 for long
    assert stopped.n_iter_ < 500
    every = quick(epochs=40, tol=0.5, n_iter_no_change=None).fit(x, y)
    assert every.n_iter_ == 40


def test_the_stopping_rule_is_mlps_not_keras():
    """A loss that creeps down by less than tol each epoch stops the training (the best so
    far follows every improvement), as in MLPClassifier; EarlyStopping would train on."""
    stop = StopWhenStalled("loss", patience=3, tol=1e-4)
    stop.set_network(attrs.make_class("Net", ["stop_training"])(False))
    stop.on_train_begin({})
    for epoch, loss in enumerate(1.0 - 5e-5 * np.arange(10)):
        stop.on_epoch_end(epoch, {"loss": float(loss)})
        if stop.network.stop_training:
            break
    assert epoch == 4  # epochs 1-4 stalled: more than 3 in a row
    stop.on_train_begin({})
    assert stop.best == np.inf and stop.stalled == 0


def test_verbose_prints_epochs(capsys):
    x, _, y, _ = iris()
    quick(epochs=2, verbose=2).fit(x, y)
    assert capsys.readouterr().out.count("epoch ") == 2
    quick(epochs=2).fit(x, y)
    assert capsys.readouterr().out == ""


# -- the fitted network -------------------------------------------------------------------


def test_the_fitted_network_saves_and_loads(tmp_path):
    x_train, x_test, y_train, _ = iris()
    model = quick().fit(x_train, y_train)
    path = model.network_.save(tmp_path / "iris.npz")
    loaded = nnframe.load(path)
    outputs = loaded.predict(x_test.astype(np.float32))
    assert np.array_equal(model.classes_[outputs.argmax(axis=1)], model.predict(x_test))
    np.testing.assert_array_equal(outputs, model.network_.predict(x_test.astype(np.float32)))


def test_a_pickled_model_predicts_and_keeps_training_the_same():
    x, _, y, _ = iris()
    model = quick(warm_start=True, epochs=3).fit(x, y)
    copied = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(copied.predict_proba(x), model.predict_proba(x))
    for estimator in (model, copied):
        estimator.fit(x, y)
    for a, b in zip(weights(model), weights(copied), strict=True):
        np.testing.assert_array_equal(a, b)
    deep = copy.deepcopy(model)
    deep.partial_fit(x, y)
    assert not np.array_equal(weights(deep)[0], weights(model)[0])


def test_feature_names_are_kept_and_checked():
    pandas = pytest.importorskip("pandas")
    x, _, y, _ = iris()
    frame = pandas.DataFrame(x, columns=["sl", "sw", "pl", "pw"])
    model = quick(epochs=2).fit(frame, y)
    assert model.feature_names_in_.tolist() == ["sl", "sw", "pl", "pw"]
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        model.predict(frame.rename(columns={"pw": "petal"}))


# -- bad input ------------------------------------------------------------------------------


def test_bad_data_gets_scikit_learns_messages():
    x, _, y, _ = iris()
    model = quick(epochs=1)
    with pytest.raises(NotFittedError):
        model.predict(x)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.fit(bad, y)
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        model.fit(x[:, 0], y)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        model.fit(x, np.linspace(0, 1, len(x)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.fit(x, y[:-1])
    model.fit(x, y)
    with pytest.raises(ValueError, match="X has 3 features, but NetworkClassifier is "
                                         "expecting 4 features as input"):
        model.predict(x[:, :3])
    with pytest.raises(ValueError, match="could not convert string to float"):
        NetworkRegressor().fit(x, y)


@pytest.mark.parametrize(("params", "error", "message"), [
    ({"hidden_layers": (10, 0)}, ConfigError, r"hidden_layers must be a tuple of positive"),
    ({"hidden_layers": "100"}, ConfigError, r"hidden_layers must be a tuple"),
    ({"activation": "rleu"}, UnknownComponentError, r"activation: .*'rleu'.*relu"),
    ({"layers": [{"output_size": 3}]}, ConfigError, r"layers\[0\]: give a registered layer"),
    ({"layers": "relu"}, ConfigError, r"layers must be a list"),
    ({"layers": [{"type": "dense", "units": 3}]}, ConfigError, r"layers\[0\]: .*units"),
    ({"loss": "cross_entropi"}, UnknownComponentError, r"loss: .*cross_entropy"),
    ({"optimizer": {"type": "adam", "beta": 0.9}}, ConfigError, r"optimizer: .*beta"),
    ({"learning_rate": -1.0}, ConfigError, r"learning_rate must be a number >= 0"),
    ({"epochs": 0}, ConfigError, r"epochs must be an integer >= 1"),
    ({"batch_size": 0}, ConfigError, r"batch_size must be an integer >= 1"),
    ({"batch_size": "big"}, ConfigError, r"batch_size must be an integer >= 1"),
    ({"validation_fraction": 1.0}, ConfigError, r"validation_fraction must be a number in"),
    ({"n_iter_no_change": 0}, ConfigError, r"n_iter_no_change must be an integer >= 1"),
    ({"tol": -1}, ConfigError, r"tol must be a number >= 0"),
    ({"dtype": "float16"}, ConfigError, r"dtype must be one of float32, float64"),
])
def test_bad_parameters_are_reported_at_fit(params, error, message):
    x, _, y, _ = iris()
    model = NetworkClassifier(**params)  # scikit-learn's rule: nothing is checked here
    with pytest.raises(error, match=message):
        model.fit(x, y)


# -- importing ------------------------------------------------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_importing_nnframe_never_imports_scikit_learn():
    result = run_python(
        "import sys, numpy as np, nnframe\n"
        "net = nnframe.Network([nnframe.layer('dense', 2, 1)]).use('mse', 'sgd')\n"
        "net.fit(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)\n"
        "assert 'sklearn' not in sys.modules, 'scikit-learn was imported'\n")
    assert result.returncode == 0, result.stderr


def test_without_scikit_learn_the_error_names_the_extra():
    result = run_python("import sys\nsys.modules['sklearn'] = None\nimport nnframe.sklearn\n")
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("ImportError: nnframe.sklearn needs scikit-learn, which is not installed: "
                    "pip install 'nnframe[sklearn]'")
