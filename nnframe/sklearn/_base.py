"""What the classifier and the regressor share: building, training and running the network.

scikit-learn's rules shape this module: ``__init__`` only stores parameters (in the
subclasses); everything is checked and built in ``fit``; fitted state lives in attributes
ending in ``_``; data is checked by `sklearn.utils.validation.validate_data`, so bad input
gets scikit-learn's own messages. Training is nnframe's: `Network.fit` with its callbacks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from nnframe.core.network import DTYPES, Network
from nnframe.errors import ConfigError
from nnframe.sklearn._components import component, hidden_layers
from nnframe.sklearn._stopping import stopping_callbacks

#: ``batch_size="auto"``: MLPClassifier's ``min(200, n_samples)``.
AUTO_BATCH = 200
_SEED_BOUND = 2**31 - 1


class NetworkEstimator(BaseEstimator):
    """Base class of `NetworkClassifier` and `NetworkRegressor` (not an estimator itself)."""

    # Set by the subclasses' __init__ (scikit-learn reads parameters from its signature).
    hidden_layers: Any
    activation: str
    layers: Any
    loss: Any
    optimizer: Any
    learning_rate: float | None
    epochs: int
    batch_size: int | str
    shuffle: bool
    random_state: Any
    validation_fraction: float
    n_iter_no_change: int | None
    tol: float
    verbose: int | bool
    warm_start: bool
    dtype: str

    # -- what the subclasses provide -----------------------------------------------------

    #: keyword arguments for ``validate_data`` about ``y``
    _y_checks: ClassVar[dict[str, Any]] = {}

    def _encode(self, y: np.ndarray, fresh: bool, classes: Any = None) -> np.ndarray:
        """``y`` as numbers (class indices, or float targets (N, outputs)); on a fresh fit,
        also the fitted attributes that describe them (``classes_``, ``n_outputs_``).
        ``classes``: those given to the first call of the classifier's ``partial_fit``."""
        raise NotImplementedError

    def _output_size(self) -> int:
        raise NotImplementedError

    def _network_targets(self, encoded: np.ndarray) -> np.ndarray:
        """The encoded targets in the form the network's loss takes."""
        return encoded

    def _stratify(self, encoded: np.ndarray) -> np.ndarray | None:
        """Labels for a stratified validation split, or None for a plain shuffled one."""
        return None

    # -- training ------------------------------------------------------------------------

    def _train(self, X: Any, y: Any, *, partial: bool, classes: Any = None,
               sample_weight: Any = None) -> NetworkEstimator:
        """``fit`` (``partial`` false) or one epoch of ``partial_fit``.

        A fresh fit forgets the previous one (so that a fit that fails leaves an unfitted
        estimator, never a mixed one) and builds a new network; ``warm_start`` and
        ``partial_fit`` continue training the fitted network, optimizer state included.
        """
        fresh = not hasattr(self, "network_") or not (partial or self.warm_start)
        dtype = self._dtype()
        epochs = 1 if partial else self._epochs()
        validation_fraction = 0.0 if partial else self._validation_fraction()
        patience = None if partial else self._patience()
        tol = 0.0 if partial else self._tol()
        batch_size, learning_rate = self._batch_size(), self._learning_rate()
        if fresh:
            for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
                delattr(self, name)
        X, y = validate_data(self, X, y, reset=fresh, dtype=dtype, **self._y_checks)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        encoded = self._encode(y, fresh, classes)
        random = check_random_state(self.random_state)
        seed, split_seed = (int(s) for s in random.randint(_SEED_BOUND, size=2))
        if fresh:
            self.network_ = self._new_network()
            self.history_ = {}
        network = self.network_
        targets = self._network_targets(encoded)
        validation = None
        if validation_fraction:
            weights = () if sample_weight is None else (sample_weight,)
            X, X_val, targets, t_val, *weights = train_test_split(
                X, targets, *weights, test_size=validation_fraction, random_state=split_seed,
                stratify=self._stratify(encoded))
            sample_weight = weights[0] if weights else None
            validation = (X_val, t_val)
        callbacks = stopping_callbacks(patience, tol, validation is not None, epochs)
        start = network.epoch
        history = network.fit(
            X, targets,
            epochs=start + epochs,
            initial_epoch=start,
            batch_size=min(AUTO_BATCH, len(X)) if batch_size is None else batch_size,
            learning_rate=learning_rate,
            shuffle=bool(self.shuffle),
            seed=seed if fresh else None,
            validation_data=validation,
            callbacks=callbacks,
            verbose=int(self.verbose),
            sample_weight=sample_weight,
        )
        for key, values in history.history.items():
            self.history_.setdefault(key, []).extend(values)
        self.n_iter_ = network.epoch
        return self

    def _new_network(self) -> Network:
        layers = hidden_layers(self.layers, self.hidden_layers, self.activation)
        layers.append(component("layer", {"type": "dense", "output_size": self._output_size()},
                                "the output layer"))
        network = Network(layers, dtype=self.dtype)
        return network.use(component("loss", self.loss, "loss"),
                           component("optimizer", self.optimizer, "optimizer"))

    # -- the parameters, checked when fit needs them (scikit-learn's rule) -----------------

    def _dtype(self) -> type:
        try:
            dtype = np.dtype(self.dtype)
        except TypeError:
            dtype = None
        if dtype is None or dtype.name not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        return dtype.type

    def _epochs(self) -> int:
        return _integer("epochs", self.epochs)

    def _batch_size(self) -> int | None:
        """The batch size, or None for ``"auto"``."""
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            return None
        return _integer("batch_size", self.batch_size, "or 'auto'")

    def _learning_rate(self) -> float | None:
        rate = self.learning_rate
        if rate is not None and not (_is_number(rate) and rate >= 0):
            raise ConfigError(f"learning_rate must be a number >= 0 or None, got {rate!r}")
        return None if rate is None else float(rate)

    def _validation_fraction(self) -> float:
        fraction = self.validation_fraction
        if not (_is_number(fraction) and 0.0 <= fraction < 1.0):
            raise ConfigError(f"validation_fraction must be a number in [0, 1), "
                              f"got {fraction!r}")
        return float(fraction)

    def _patience(self) -> int | None:
        if self.n_iter_no_change is None:
            return None
        return _integer("n_iter_no_change", self.n_iter_no_change, "or None")

    def _tol(self) -> float:
        if not (_is_number(self.tol) and self.tol >= 0):
            raise ConfigError(f"tol must be a number >= 0, got {self.tol!r}")
        return float(self.tol)

    # -- inference -----------------------------------------------------------------------

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's outputs for ``X``, checked as at fit time."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.network_.dtype.type)
        return self.network_.predict(X)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool)


def _integer(name: str, value: Any, alternative: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        also = f" {alternative}" if alternative else ""
        raise ConfigError(f"{name} must be an integer >= 1{also}, got {value!r}")
    return int(value)
