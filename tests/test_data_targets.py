"""The issue's targets on real files, trained from the example configs with one command
each, against scikit-learn on the identical split (nnframe's own seeded split, so that
both see the very same test rows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from nnframe.datasets.splits import split_rows

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def train(config: Path, output: Path) -> str:
    result = runner.invoke(app, ["train", str(config), "-o", str(output), "--quiet"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_penguins_beat_scikit_learn_pipelines_on_the_same_split(tmp_path):
    pd = pytest.importorskip("pandas")
    sklearn = pytest.importorskip("sklearn")
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    assert sklearn.__version__
    output = tmp_path / "penguins.npz"
    line = train(EXAMPLES / "penguins.toml", output)
    accuracy = float(line.split("accuracy ")[1].split("%")[0]) / 100

    frame = pd.read_csv(EXAMPLES / "data" / "penguins.csv")
    keep, held = split_rows(len(frame), 0.2, [0, 1], frame["species"].to_numpy(), "test")
    features = frame.drop(columns="species")
    numbers = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    categories = ["island", "sex"]

    def pipeline(model):
        columns = ColumnTransformer([
            ("numbers", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()),
             numbers),
            ("categories", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                         OneHotEncoder(handle_unknown="ignore")), categories),
        ])
        return make_pipeline(columns, model)

    scores = {}
    for name, model in (("logistic", LogisticRegression(max_iter=2000)),
                        ("mlp", MLPClassifier(max_iter=2000, random_state=0))):
        fitted = pipeline(model).fit(features.iloc[keep], frame["species"].iloc[keep])
        scores[name] = fitted.score(features.iloc[held], frame["species"].iloc[held])
    assert accuracy >= max(scores.values()) - 0.01, (accuracy, scores)

    predictions = nnframe.load(output).predict_file(EXAMPLES / "data" / "penguins.csv")
    names = predictions["species"]
    assert set(names) == {"Adelie", "Chinstrap", "Gentoo"}
    assert np.mean(names[held] == frame["species"].to_numpy()[held]) == accuracy


def test_diabetes_regression_matches_ridge_in_the_targets_units(tmp_path):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    source = Path(sklearn.__file__).parent / "datasets" / "data"
    (tmp_path / "data").mkdir()
    for name in ("diabetes_data_raw.csv.gz", "diabetes_target.csv.gz"):
        shutil.copy(source / name, tmp_path / "data" / name)
    config = tmp_path / "diabetes.toml"
    shutil.copy(EXAMPLES / "diabetes.toml", config)
    output = tmp_path / "diabetes.npz"
    line = train(config, output)
    assert "r2 " in line

    x = np.loadtxt(source / "diabetes_data_raw.csv.gz")
    y = np.loadtxt(source / "diabetes_target.csv.gz")
    keep, held = split_rows(len(x), 0.2, [0, 1], None, "test")
    ridge = r2_score(y[held], Ridge(alpha=1.0).fit(x[keep], y[keep]).predict(x[held]))
    predicted = nnframe.load(output).predict_file(tmp_path / "data" /
                                                  "diabetes_data_raw.csv.gz")["target"]
    ours = r2_score(y[held], predicted[held])
    assert ours >= ridge - 0.02, (ours, ridge)
    assert abs(float(line.split("r2 ")[1].split(" ")[0]) - ours) < 1e-3
    assert predicted.min() > 25 and predicted.max() < 346  # the target's own range
