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

from nnframe.extras import require

MINIMUM_SKLEARN = (1, 6)  # validate_data, __sklearn_tags__, expected_failed_checks

# a plain ImportError, as Python gives for any import that cannot be done
require("sklearn", "sklearn", "nnframe.sklearn", package="scikit-learn",
        minimum=MINIMUM_SKLEARN, error=ImportError)

from nnframe.sklearn._estimators import NetworkClassifier, NetworkRegressor  # noqa: E402

__all__ = ["NetworkClassifier", "NetworkRegressor"]
