"""scikit-learn estimators on nnframe networks: `NetworkClassifier` and `NetworkRegressor`.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from nnframe.sklearn import NetworkClassifier

    model = make_pipeline(StandardScaler(), NetworkClassifier(hidden_layers=(64,)))
    model.fit(x_train, y_train).score(x_test, y_test)

They are ordinary scikit-learn estimators (pipelines, grid searches, cross-validation,
``clone``), built from registered components by name; ``network_`` is the fitted
`nnframe.Network`. Needs the ``sklearn`` extra: ``pip install 'nnframe[sklearn]'``.
Importing ``nnframe`` alone never imports scikit-learn.
"""

from __future__ import annotations

MINIMUM_SKLEARN = (1, 6)  # validate_data, __sklearn_tags__, expected_failed_checks


def _require_sklearn() -> None:
    hint = "pip install 'nnframe[sklearn]'"
    try:
        import sklearn
    except ImportError:
        raise ImportError(f"nnframe.sklearn needs scikit-learn, which is not installed: "
                          f"{hint}") from None
    found = tuple(int(part) for part in sklearn.__version__.split(".")[:2] if part.isdigit())
    if found < MINIMUM_SKLEARN:
        wanted = ".".join(map(str, MINIMUM_SKLEARN))
        raise ImportError(f"nnframe.sklearn needs scikit-learn >= {wanted}, found "
                          f"{sklearn.__version__}: pip install -U 'nnframe[sklearn]'")


_require_sklearn()

from nnframe.sklearn._estimators import NetworkClassifier, NetworkRegressor  # noqa: E402

__all__ = ["NetworkClassifier", "NetworkRegressor"]
