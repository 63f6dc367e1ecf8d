"""nnframe in scikit-learn: the digits set (8x8 images, shipped with scikit-learn) in a
Pipeline of StandardScaler and NetworkClassifier, tuned by a small GridSearchCV; then the
best settings side by side with scikit-learn's MLPClassifier on the same split, with the
same hidden sizes, optimizer (Adam), learning rate, batch size, epoch limit and stopping
rule: test accuracy and fit time, medians over several seeds, the two fitted in turn.

Run: python examples/sklearn_digits.py [--repeats 5] [--threads 1] [--quick]
(needs pip install 'nnframe[sklearn]')
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from nnframe.sklearn import NetworkClassifier

GRID = {"net__hidden_layers": [(64,), (128,)], "net__learning_rate": [0.001, 0.003]}
QUICK_GRID = {"net__hidden_layers": [(32,)], "net__learning_rate": [0.003, 0.01]}


def pipeline(net) -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("net", net)])


def mlp_like(net: NetworkClassifier) -> MLPClassifier:
    """scikit-learn's MLPClassifier with the network's settings (its defaults otherwise)."""
    return MLPClassifier(hidden_layer_sizes=net.hidden_layers, activation=net.activation,
                         learning_rate_init=net.learning_rate, batch_size=net.batch_size,
                         max_iter=net.epochs, tol=net.tol, n_iter_no_change=net.n_iter_no_change,
                         random_state=net.random_state)


def timed_fit(model, x, y) -> tuple[float, float]:
    """Wall and CPU seconds of one fit."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(x, y)
    return time.perf_counter() - wall, time.process_time() - cpu


def main(repeats: int = 5, quick: bool = False) -> dict[str, dict[str, float]]:
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    epochs = 30 if quick else 200
    search = GridSearchCV(pipeline(NetworkClassifier(epochs=epochs, random_state=0)),
                          QUICK_GRID if quick else GRID, cv=2 if quick else 3)
    started = time.perf_counter()
    search.fit(x_train, y_train)
    print(f"grid search: {len(search.cv_results_['params'])} settings, {search.cv} folds, "
          f"{time.perf_counter() - started:.1f}s; best {search.best_params_} "
          f"(cross-validated accuracy {search.best_score_:.2%})")
    print(f"best pipeline on the test split: {search.score(x_test, y_test):.2%}")

    best = search.best_estimator_["net"].get_params()
    runs: dict[str, dict[str, list[float]]] = {}
    for seed in range(repeats):
        net = NetworkClassifier(**{**best, "random_state": seed})
        models = [pipeline(net), pipeline(mlp_like(net))]
        if seed % 2:
            models.reverse()  # take turns going first
        for model in models:
            name = type(model["net"]).__name__
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)  # MLP at its epoch limit
                wall, cpu = timed_fit(model, x_train, y_train)
            run = runs.setdefault(name, {"accuracy": [], "wall": [], "cpu": [], "epochs": []})
            run["accuracy"].append(model.score(x_test, y_test))
            run["wall"].append(wall)
            run["cpu"].append(cpu)
            run["epochs"].append(model["net"].n_iter_)

    medians = {name: {key: statistics.median(values) for key, values in run.items()}
               for name, run in runs.items()}
    print(f"\nsame split ({len(x_train):,} training, {len(x_test):,} test images), hidden "
          f"layers {best['hidden_layers']}, Adam at {best['learning_rate']}, batch "
          f"{min(200, len(x_train))}, at most {best['epochs']} epochs; medians of {repeats}:")
    print(f"{'':<18} {'accuracy':>9} {'fit (wall)':>11} {'fit (CPU)':>10} {'epochs':>7}")
    for name, m in medians.items():
        print(f"{name:<18} {m['accuracy']:>9.2%} {m['wall']:>10.3f}s {m['cpu']:>9.3f}s "
              f"{m['epochs']:>7.0f}")
    ours, theirs = medians["NetworkClassifier"], medians["MLPClassifier"]
    print(f"NetworkClassifier - MLPClassifier: accuracy "
          f"{(ours['accuracy'] - theirs['accuracy']) * 100:+.2f} points; fit time "
          f"x{ours['wall'] / theirs['wall']:.2f} (wall), x{ours['cpu'] / theirs['cpu']:.2f} (CPU)")
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="seeds to compare (default 5)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: the library's own choice)")
    parser.add_argument("--quick", action="store_true", help="a tiny grid and 30 epochs")
    args = parser.parse_args()
    with threadpool_limits(args.threads):
        main(args.repeats, args.quick)
