"""The built-in metrics against values computed by hand, accumulated over batches."""

from __future__ import annotations

import numpy as np
import pytest

import nnframe

#: 8 samples, 3 classes: targets and the class each row's largest output predicts.
LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2])
PREDICTED = np.array([0, 1, 0, 1, 1, 2, 0, 2])


def outputs(predicted=PREDICTED, classes=3):
    scores = np.zeros((len(predicted), classes))
    scores[np.arange(len(predicted)), predicted] = 2.0
    scores[:, 0] += 0.5  # class 0 second everywhere it is not first (no ties)
    scores[:, 1] += 0.25
    return scores


def score(name, y_true, y_pred, batches=(3, 5), **config):
    metric = nnframe.metric(name, **config)
    metric.prepare(y_pred.shape[1:], nnframe.loss("cross_entropy"), y_true)
    metric.reset()
    start = 0
    for size in batches:
        metric.update(y_true[start:start + size], y_pred[start:start + size])
        start += size
    return metric.result()


def by_hand():
    """Per class: precision, recall (class 0: 2/3, 2/3; class 1: 2/3, 1; class 2: 1, 2/3)."""
    precision = np.array([2 / 3, 2 / 3, 1.0])
    recall = np.array([2 / 3, 1.0, 2 / 3])
    f1 = 2 * precision * recall / (precision + recall)
    return precision.mean(), recall.mean(), f1.mean()


def test_accuracy_precision_recall_f1():
    y_pred = outputs()
    precision, recall, f1 = by_hand()
    assert score("accuracy", LABELS, y_pred) == pytest.approx(6 / 8)
    assert score("precision", LABELS, y_pred) == pytest.approx(precision)
    assert score("recall", LABELS, y_pred) == pytest.approx(recall)
    assert score("f1", LABELS, y_pred) == pytest.approx(f1)
    one_hot = np.eye(3)[LABELS]
    assert score("f1", one_hot, y_pred) == pytest.approx(f1)


def test_top_k_accuracy():
    y_pred = outputs()
    # class 0 is first or second everywhere: top-2 misses only where the target is neither
    top2 = np.mean([LABELS[i] in (PREDICTED[i], 0) for i in range(8)])
    assert score("top_k_accuracy", LABELS, y_pred, k=2) == pytest.approx(top2)
    assert score("top_k_accuracy", LABELS, y_pred, k=3) == 1.0
    assert nnframe.metric("top_k_accuracy", k=2).name == "top_2_accuracy"


def test_classes_never_seen_do_not_count_in_the_macro_average():
    y_true, predicted = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0])
    y_pred = outputs(predicted, classes=4)  # class 2 and 3 appear nowhere
    # class 0: precision 2/3, recall 1; class 1: precision 1, recall 1/2
    assert score("precision", y_true, y_pred, (4,)) == pytest.approx((2 / 3 + 1) / 2)
    assert score("recall", y_true, y_pred, (4,)) == pytest.approx((1 + 0.5) / 2)


def test_single_output_units_are_read_by_the_loss():
    y_true = np.array([[0.0], [1.0], [1.0], [0.0]])
    logits = np.array([[-1.0], [0.2], [-0.3], [0.4]])
    metric = nnframe.metric("accuracy")
    metric.prepare((1,), nnframe.loss("binary_cross_entropy"), y_true)
    metric.update(y_true, logits)
    assert metric.result() == 0.5  # logits are read at 0: rows 0 and 1 right
    metric = nnframe.metric("accuracy")
    metric.prepare((1,), nnframe.loss("mse"), np.array([[-1.0], [1.0]]))
    metric.update(np.array([[-1.0], [1.0]]), np.array([[-0.2], [0.1]]))
    assert metric.result() == 1.0  # tanh outputs for -1/1 targets are read at 0


def test_mae():
    y_true = np.array([[1.0, 2.0], [3.0, 4.0]])
    y_pred = np.array([[1.5, 2.0], [2.0, 4.0]])
    assert score("mae", y_true, y_pred, (1, 1)) == pytest.approx((0.5 + 1.0) / 4)


def test_metrics_in_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    net = nnframe.Network([nnframe.layer("dense", 4, 3)])
    net.use("cross_entropy", "adam", metrics=["f1", nnframe.metric("top_k_accuracy", k=2)])
    history = net.fit(x[:90], y[:90], epochs=2, seed=0, verbose=0,
                      validation_data=(x[90:], y[90:]))
    assert set(history.history) == {"loss", "accuracy", "f1", "top_2_accuracy", "val_loss",
                                    "val_accuracy", "val_f1", "val_top_2_accuracy"}
    scores = net.evaluate(x[90:], y[90:])
    assert scores["f1"] == pytest.approx(history["val_f1"][-1])
    assert scores["accuracy"] == pytest.approx(history["val_accuracy"][-1])


def test_a_classification_metric_on_regression_targets_is_a_clear_error():
    net = nnframe.Network([nnframe.layer("dense", 2, 1)]).use("mse", "sgd", metrics=["f1"])
    x = np.ones((4, 2), np.float32)
    with pytest.raises(nnframe.DataError, match="metric 'f1' needs classification targets"):
        net.fit(x, np.array([[0.3], [1.5], [2.0], [0.1]]), verbose=0)


def test_metrics_are_saved_in_model_files(tmp_path):
    net = nnframe.Network([nnframe.layer("dense", 2, 3)])
    net.use("cross_entropy", "sgd", metrics=["precision", "top_k_accuracy"]).build((2,))
    loaded = nnframe.load(net.save(tmp_path / "m.npz"))
    assert [m.name for m in loaded.metrics] == ["precision", "top_5_accuracy"]
