"""`NetworkClassifier` and `NetworkRegressor`: nnframe networks as scikit-learn estimators."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, unique_labels

from nnframe.errors import DataError, NNFrameError
from nnframe.metrics import one_hot
from nnframe.sklearn._base import NetworkEstimator
from nnframe.sklearn._components import component


def _loss_of(estimator: NetworkClassifier) -> Any:
    if hasattr(estimator, "network_"):
        return estimator.network_.loss
    return component("loss", estimator.loss, "loss")


def _outputs_are_class_scores(estimator: NetworkClassifier) -> bool:
    """Whether ``predict_proba`` is offered: the loss turns outputs into probabilities
    (it takes logits and has ``probabilities``, as ``cross_entropy``)."""
    try:
        loss = _loss_of(estimator)
    except NNFrameError:
        return True  # fit will report the bad loss
    return bool(getattr(loss, "takes_logits", False)) and hasattr(loss, "probabilities")


class NetworkClassifier(ClassifierMixin, NetworkEstimator):
    """A neural-network classifier for scikit-learn, trained by nnframe.

    The network is the hidden layers (``hidden_layers`` and ``activation``, or ``layers``)
    followed by a ``dense`` output layer with one unit per class, binary problems included
    (two logits under a softmax). It trains with softmax cross-entropy from logits on the
    class indices; ``predict`` gives the class of the largest output, ``predict_proba`` the
    softmax of the outputs. Labels may be of any type scikit-learn accepts (strings too).

    Args:
        hidden_layers: the size of each hidden ``dense`` layer, in order; ``()`` for none
            (a linear softmax model).
        activation: the registered layer after each hidden ``dense`` layer (``"relu"``,
            ``"tanh"``, ``"sigmoid"``, ``"leaky_relu"`` or a plugin's).
        layers: the hidden layers as a list of registered names or dicts with a ``type``
            and the layer's arguments, as in a training config (``[{"type": "dense",
            "output_size": 64}, "relu", {"type": "dropout", "rate": 0.1}]``). When given
            it replaces ``hidden_layers`` and ``activation``; the output layer is added.
        loss: a registered loss name, or a dict with its ``type`` and arguments. Losses
            that take class indices (``cross_entropy``) get them; others (``mse``,
            ``binary_cross_entropy``) get one-hot rows. ``predict_proba`` is offered only
            with a loss that takes logits.
        optimizer: a registered optimizer name, or a dict with its ``type`` and arguments
            (``{"type": "adamw", "weight_decay": 1e-4}``).
        learning_rate: the optimizer's learning rate; None keeps the optimizer's own
            (its default, or the one in the ``optimizer`` dict).
        epochs: the most epochs one ``fit`` trains (early stopping may end it sooner).
        batch_size: samples per mini-batch; ``"auto"`` is ``min(200, n_samples)``.
        shuffle: shuffle the samples every epoch.
        random_state: an int for bit-identical fits, run after run (initial weights,
            shuffling, the validation split), a ``numpy.random.RandomState``, or None.
        validation_fraction: the fraction of the training data held out (stratified) to
            measure a validation loss each epoch; 0 holds out nothing.
        n_iter_no_change: stop after more than this many epochs in a row in which the loss
            did not fall below its best so far by at least ``tol`` (MLPClassifier's rule):
            the validation loss when ``validation_fraction`` > 0 (the best epoch's weights
            are then restored), else the training loss. None trains all ``epochs``.
        tol: the smallest loss decrease that counts as an improvement.
        verbose: 0 silent, 1 a progress bar (on a terminal) or a line per epoch, 2 a line
            per epoch.
        warm_start: ``fit`` continues training the fitted network (weights and optimizer
            state) for ``epochs`` more epochs instead of starting a new one; the
            architecture parameters then have no effect.
        dtype: ``"float32"`` (the default) or ``"float64"``, for the network and the data.

    Attributes:
        classes_: the class labels, sorted.
        network_: the fitted `nnframe.Network` (``network_.save(path)`` writes a model file).
        history_: per-epoch metrics of every epoch trained (``loss``, ``accuracy``, and
            ``val_loss``, ``val_accuracy`` when validating), across warm starts.
        n_iter_: the epochs the network has trained in all.
        n_features_in_: the number of features seen in ``fit``.
        feature_names_in_: the feature names, when ``X`` had string column names.
    """

    def __init__(
        self,
        hidden_layers: Any = (100,),
        activation: str = "relu",
        layers: Any = None,
        loss: Any = "cross_entropy",
        optimizer: Any = "adam",
        learning_rate: float | None = 0.001,
        epochs: int = 200,
        batch_size: int | str = "auto",
        shuffle: bool = True,
        random_state: Any = None,
        validation_fraction: float = 0.0,
        n_iter_no_change: int | None = 10,
        tol: float = 1e-4,
        verbose: int | bool = 0,
        warm_start: bool = False,
        dtype: str = "float32",
    ) -> None:
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.layers = layers
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NetworkClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,), each
        sample's loss weighted by ``sample_weight`` (n_samples,) when given."""
        return self._train(X, y, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> NetworkClassifier:
        """Train one epoch on this batch of data, continuing the fitted network.

        ``classes`` (every label that will ever be seen) is required on the first call.
        """
        first = not hasattr(self, "network_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if not first and classes is not None and not np.array_equal(
                unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                             f"fit or partial_fit, was: {self.classes_!r}")
        return self._train(X, y, partial=True, classes=classes if first else None)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class label of each sample."""
        outputs = self._outputs(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(outputs, axis=1)]

    @available_if(_outputs_are_class_scores)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (n_samples, n_classes), in the order of ``classes_``, as the
        loss reads its outputs (the softmax of cross-entropy's logits)."""
        outputs = self._outputs(X)
        return np.asarray(self.network_.loss.probabilities(outputs), dtype=np.float64)

    def _encode(self, y: np.ndarray, fresh: bool, classes: Any = None) -> np.ndarray:
        check_classification_targets(y)
        if fresh:
            self.classes_ = unique_labels(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise ValueError("NetworkClassifier can't train when only one class is "
                                 f"present: y has 1 class ({self.classes_.tolist()}); give "
                                 "samples of at least two classes")
        known = unique_labels(self.classes_, y)  # scikit-learn's message for mixed types
        if len(known) > len(self.classes_):
            unseen = np.setdiff1d(known, self.classes_)
            raise ValueError(f"y has labels {unseen.tolist()} that are not in classes_ "
                             f"{self.classes_.tolist()}; pass every label in partial_fit's "
                             "classes on its first call, or fit again without warm_start")
        return np.searchsorted(self.classes_, y).astype(np.intp, copy=False)

    def _output_size(self) -> int:
        return len(self.classes_)

    def _network_targets(self, encoded: np.ndarray) -> np.ndarray:
        """Class indices for a loss that takes them, else one-hot rows."""
        loss = self.network_.loss
        check = getattr(loss, "check_targets", None)
        if check is not None:
            try:
                check(encoded, (len(self.classes_),))
            except DataError:
                return one_hot(encoded, len(self.classes_), dtype=self.network_.dtype.name)
        return encoded

    def _stratify(self, encoded: np.ndarray) -> np.ndarray | None:
        """The labels, when every class can be split (MLPClassifier stratifies too)."""
        counts = np.bincount(encoded, minlength=len(self.classes_))
        held_out = int(np.ceil(self.validation_fraction * len(encoded)))
        classes = int(np.count_nonzero(counts))
        if counts[counts > 0].min() >= 2 and classes <= held_out <= len(encoded) - classes:
            return encoded
        return None


class NetworkRegressor(RegressorMixin, NetworkEstimator):
    """A neural-network regressor for scikit-learn, trained by nnframe.

    The network is the hidden layers (``hidden_layers`` and ``activation``, or ``layers``)
    followed by a linear ``dense`` output layer with one unit per target. ``y`` may be 1-D
    (``predict`` returns (n_samples,)) or 2-D for several outputs at once (``predict``
    returns (n_samples, n_outputs)), in float64 like every scikit-learn regressor.

    The parameters are `NetworkClassifier`'s, except that ``loss`` defaults to ``"mse"``
    (``"mae"``, ``"huber"``, ``{"type": "huber", "delta": 2.0}`` or a plugin's loss work
    too) and ``validation_fraction`` holds out a plain shuffled part of the data.

    Attributes:
        n_outputs_: the number of targets per sample.
        network_: the fitted `nnframe.Network` (``network_.save(path)`` writes a model file).
        history_: per-epoch metrics of every epoch trained (``loss``, and ``val_loss`` when
            validating), across warm starts.
        n_iter_: the epochs the network has trained in all.
        n_features_in_: the number of features seen in ``fit``.
        feature_names_in_: the feature names, when ``X`` had string column names.
    """

    _y_checks: ClassVar[dict[str, Any]] = {"multi_output": True, "y_numeric": True}

    def __init__(
        self,
        hidden_layers: Any = (100,),
        activation: str = "relu",
        layers: Any = None,
        loss: Any = "mse",
        optimizer: Any = "adam",
        learning_rate: float | None = 0.001,
        epochs: int = 200,
        batch_size: int | str = "auto",
        shuffle: bool = True,
        random_state: Any = None,
        validation_fraction: float = 0.0,
        n_iter_no_change: int | None = 10,
        tol: float = 1e-4,
        verbose: int | bool = 0,
        warm_start: bool = False,
        dtype: str = "float32",
    ) -> None:
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.layers = layers
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.dtype = dtype

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> NetworkRegressor:
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_outputs), each sample's loss weighted by ``sample_weight``
        (n_samples,) when given."""
        return self._train(X, y, partial=False, sample_weight=sample_weight)

    def partial_fit(self, X: Any, y: Any) -> NetworkRegressor:
        """Train one epoch on this batch of data, continuing the fitted network."""
        return self._train(X, y, partial=True)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets: (n_samples,) for one output, else (n_samples, n_outputs)."""
        outputs = self._outputs(X).astype(np.float64)  # scikit-learn's regressors give float64
        return outputs.ravel() if self.n_outputs_ == 1 else outputs

    def _encode(self, y: np.ndarray, fresh: bool, classes: Any = None) -> np.ndarray:
        targets = np.asarray(y, dtype=self._dtype()).reshape(len(y), -1)
        if fresh:
            self.n_outputs_ = targets.shape[1]
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {targets.shape[1]} outputs per sample, but the network "
                             f"was fitted with {self.n_outputs_}; fit again without "
                             "warm_start to change the outputs")
        return targets

    def _output_size(self) -> int:
        return self.n_outputs_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
