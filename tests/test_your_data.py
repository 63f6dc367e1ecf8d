"""The user's own data end to end: train from a CSV, predict and evaluate raw files from the
CLI and from Python, what the model file keeps, the standardize layer, 1-D targets."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from nnframe.testing import check_layer
from tests.test_cli_train import one_error_line, run_main

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PENGUINS = EXAMPLES / "data" / "penguins.csv"


@pytest.fixture(scope="module")
def penguins_model(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("penguins") / "penguins.npz"
    result = runner.invoke(app, ["train", str(EXAMPLES / "penguins.toml"), "-o", str(output),
                                 "--epochs", "20", "--quiet"])
    assert result.exit_code == 0, result.output
    return output


def test_the_model_file_keeps_what_reading_raw_rows_needs(penguins_model):
    network = nnframe.load(penguins_model)
    schema = network.schema
    assert schema.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert schema.feature_names == ("island", "bill_length_mm", "bill_depth_mm",
                                    "flipper_length_mm", "body_mass_g", "sex", "year")
    assert schema.features[0].categories == ("Biscoe", "Dream", "Torgersen")
    assert schema.seed == 0 and schema.missing == "fill"
    standardize = network.layers[0]
    assert standardize.adapted and int(standardize.state["count"]) == 247  # training rows


def test_predict_a_raw_csv_gives_species_names(penguins_model, tmp_path):
    output = tmp_path / "predictions.csv"
    result = runner.invoke(app, ["predict", str(penguins_model), str(PENGUINS), "-o",
                                 str(output)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(output.open()))
    assert list(rows[0]) == ["species", "probability_Adelie", "probability_Chinstrap",
                             "probability_Gentoo"]
    truth = [row["species"] for row in csv.DictReader(PENGUINS.open())]
    correct = sum(row["species"] == true for row, true in zip(rows, truth, strict=True))
    assert correct / len(truth) > 0.9
    printed = runner.invoke(app, ["predict", str(penguins_model), str(PENGUINS)])
    assert printed.stdout.splitlines()[0].startswith("species,probability_Adelie")


def test_evaluate_on_a_file(penguins_model):
    result = runner.invoke(app, ["evaluate", str(penguins_model), "--data", str(PENGUINS)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("penguins.csv: loss ")
    assert "(344 samples)" in result.stdout


def test_bad_rows_at_predict_time_are_one_line_and_nothing_is_written(penguins_model,
                                                                     tmp_path, capsys):
    lines = PENGUINS.read_text().splitlines()
    lines[3] = lines[3].replace("Torgersen", "Atlantis", 1)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    output = tmp_path / "out.csv"
    status, _, err = run_main(capsys, "predict", penguins_model, bad, "-o", output)
    assert status == 2 and not output.exists()
    assert "bad.csv: line 4, column 'island': the category 'Atlantis' was not in the " \
           "training data" in one_error_line(err)
    lines = PENGUINS.read_text().splitlines()
    lines[2] = lines[2].replace("39.5", "thirty-nine", 1)
    bad.write_text("\n".join(lines) + "\n")
    status, _, err = run_main(capsys, "predict", penguins_model, bad, "-o", output)
    assert status == 2 and not output.exists()
    assert "bad.csv: line 3, column 'bill_length_mm': 'thirty-nine' is not a number" in \
        one_error_line(err)
    missing_column = tmp_path / "short.csv"
    missing_column.write_text("island,sex\nDream,male\n")
    status, _, err = run_main(capsys, "predict", penguins_model, missing_column)
    assert status == 2 and "no column 'bill_length_mm'" in one_error_line(err)


def test_fit_evaluate_and_predict_file_from_python(tmp_path):
    data = nnframe.dataset("csv", path=PENGUINS, target="species", missing="fill")
    net = nnframe.Network([nnframe.layer("standardize"), nnframe.layer("dense", output_size=3)])
    net.use("cross_entropy", nnframe.optimizer("adam", learning_rate=0.05))
    history = net.fit(data, epochs=15, validation_split=0.2, seed=1, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.9
    assert net.schema.classes == ("Adelie", "Chinstrap", "Gentoo")
    assert net.evaluate(data)["accuracy"] > 0.9
    columns = net.predict_file(PENGUINS)
    assert columns["species"][0] == "Adelie" and len(columns["species"]) == 344
    net.save(tmp_path / "m.npz")
    again = nnframe.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(again.predict_file(PENGUINS)["probability_Gentoo"],
                                  columns["probability_Gentoo"])


def test_standardize_is_checked_and_adapted_on_the_training_split_only():
    check_layer("standardize")
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(100, 3)) * [1.0, 10.0, 100.0] + [5.0, -3.0, 1000.0]).astype(np.float32)
    y = (x[:, :1] > 5).astype(np.int64).ravel()
    net = nnframe.Network([nnframe.layer("standardize"), nnframe.layer("dense", output_size=2)])
    net.use("cross_entropy", "sgd").fit(x, y, epochs=1, learning_rate=0.1, verbose=0,
                                        validation_split=0.2)
    state = net.layers[0].state
    np.testing.assert_allclose(state["mean"], x[:80].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(state["variance"], x[:80].var(axis=0), rtol=1e-4)
    out = net.layers[0].forward(x[:80].astype(np.float32))
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-4)
    before = state["mean"].copy()
    net.fit(x + 100, y, epochs=1, verbose=0)  # adapted once: later fits keep the statistics
    np.testing.assert_array_equal(state["mean"], before)


def test_a_regression_target_of_shape_n_is_accepted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5])).astype(np.float32)  # (64,)
    net = nnframe.Network([nnframe.layer("dense", output_size=1)]).use("mse", "sgd")
    history = net.fit(x, y, epochs=30, learning_rate=0.1, verbose=0, validation_split=0.25)
    assert history.history["loss"][-1] < 0.01
    assert net.evaluate(x, y)["loss"] < 0.01
    with pytest.raises(nnframe.DataError, match="y:"):
        nnframe.Network([nnframe.layer("dense", output_size=2)]).use("mse", "sgd").fit(
            x, y, learning_rate=0.1, verbose=0)


def test_named_data_sets_and_schema_free_models_work_too(tmp_path):
    net = nnframe.Network([nnframe.layer("dense", output_size=4), nnframe.layer("tanh"),
                           nnframe.layer("dense", output_size=1)]).use("mse", "adam")
    net.fit(nnframe.dataset("xor"), epochs=3, seed=0, verbose=0)  # its training split
    assert net.schema is None and "loss" in net.evaluate(nnframe.dataset("xor"))
    x, _ = nnframe.datasets.xor()
    np.save(tmp_path / "x.npy", x)
    columns = net.predict_file(tmp_path / "x.npy")
    np.testing.assert_allclose(columns["output_0"], net.predict(x)[:, 0], rtol=1e-6)
    net.save(tmp_path / "xor.npz")
    assert nnframe.load(tmp_path / "xor.npz").schema is None  # no data entry in the header
