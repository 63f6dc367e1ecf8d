"""The readers that need an extra: ``parquet`` (pyarrow) and ``image_folder`` (Pillow),
and the image-folder example trained from MNIST PNGs written by a fixture."""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnframe
from nnframe.cli import app
from nnframe.datasets.schema import fit_schema
from tests.test_cli_train import one_error_line, run_main

runner = CliRunner()
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PENGUINS = EXAMPLES / "data" / "penguins.csv"


# -- parquet -----------------------------------------------------------------------------


@pytest.fixture
def penguins_parquet(tmp_path) -> Path:
    pytest.importorskip("pyarrow")
    import pyarrow.csv
    import pyarrow.parquet

    options = pyarrow.csv.ConvertOptions(strings_can_be_null=True)  # NA becomes null
    table = pyarrow.csv.read_csv(PENGUINS, convert_options=options)
    path = tmp_path / "penguins.parquet"
    pyarrow.parquet.write_table(table, path)
    return path


def test_parquet_reads_like_the_csv(penguins_parquet):
    from_parquet = nnframe.dataset("parquet", path=penguins_parquet, target="species",
                                   missing="fill").read()
    from_csv = nnframe.dataset("csv", path=PENGUINS, target="species", missing="fill").read()
    schema = fit_schema(from_csv, missing="fill")
    assert fit_schema(from_parquet, missing="fill").features == schema.features
    np.testing.assert_array_equal(schema.inputs(from_parquet), schema.inputs(from_csv))
    np.testing.assert_array_equal(schema.targets(from_parquet), schema.targets(from_csv))
    # a model trained on the CSV reads Parquet rows too, and the other way round
    np.testing.assert_array_equal(schema.inputs(schema.read(penguins_parquet)),
                                  schema.inputs(from_csv))


def test_parquet_without_pyarrow_names_the_extra(penguins_parquet, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(nnframe.MissingExtraError, match=r"nnframe\[arrow\]"):
        nnframe.dataset("parquet", path=penguins_parquet, target="species").read()


def test_a_file_that_is_not_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "fake.parquet"
    path.write_text("not parquet")
    with pytest.raises(nnframe.DataError, match=r"fake\.parquet: not a Parquet file"):
        nnframe.dataset("parquet", path=path, target="y").read()


# -- image folders -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def digit_folders(tmp_path_factory) -> Path:
    """MNIST sample PNGs, one folder per digit, beside a copy of the example config."""
    pytest.importorskip("PIL")
    sys.path.insert(0, str(EXAMPLES))
    try:
        from digit_pngs import write_pngs
    finally:
        sys.path.remove(str(EXAMPLES))
    folder = tmp_path_factory.mktemp("digits")
    write_pngs(folder / "data", train=600, new=40)
    shutil.copy(EXAMPLES / "digits_folder.toml", folder)
    return folder


def test_an_image_folder_reads_classes_from_sub_folders(digit_folders):
    reader = nnframe.dataset("image_folder", path=digit_folders / "data" / "digits",
                             color="grayscale")
    assert reader.describe()["classes"] == [str(d) for d in range(10)]
    raw = reader.read()
    assert raw.inputs.shape == (600, 28, 28, 1) and raw.inputs.dtype == np.float32
    assert raw.inputs.min() >= 0.0 and raw.inputs.max() <= 1.0
    x, y = nnframe.datasets.mnist_sample("train")
    first = raw.names.index(str(digit_folders / "data" / "digits" / str(y[0]) / "00000.png"))
    np.testing.assert_allclose(raw.inputs[first], x[0], atol=0.5 / 255)
    resized = nnframe.dataset("image_folder", path=digit_folders / "data" / "digits",
                              size=[14, 14], color="rgb").read()
    assert resized.inputs.shape == (600, 14, 14, 3)


def test_train_from_the_folder_and_predict_new_images(digit_folders, tmp_path):
    model = tmp_path / "digits.npz"
    result = runner.invoke(app, ["train", str(digit_folders / "digits_folder.toml"), "-o",
                                 str(model), "--quiet"])
    assert result.exit_code == 0, result.output
    accuracy = float(result.stdout.split("accuracy ")[1].split("%")[0])
    assert accuracy > 80.0, result.stdout
    output = tmp_path / "digits.csv"
    result = runner.invoke(app, ["predict", str(model), str(digit_folders / "data" /
                                                           "new_digits"), "-o", str(output)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 40 and rows[0]["file"].endswith("000.png")
    _, labels = nnframe.datasets.mnist_sample("test")
    hits = np.mean([row["class"] == str(label) for row, label in zip(rows, labels[:40],
                                                                     strict=True)])
    assert hits > 0.7
    one = nnframe.load(model).predict_file(digit_folders / "data" / "new_digits" / "000.png")
    assert one["class"].tolist() == [rows[0]["class"]]


def test_a_file_that_is_not_an_image_is_named(digit_folders, tmp_path, capsys):
    model = tmp_path / "digits.npz"
    runner.invoke(app, ["train", str(digit_folders / "digits_folder.toml"), "-o", str(model),
                        "--quiet", "--epochs", "1"])
    folder = tmp_path / "new"
    folder.mkdir()
    shutil.copy(digit_folders / "data" / "new_digits" / "000.png", folder / "a.png")
    (folder / "b.png").write_text("not an image")
    output = tmp_path / "out.csv"
    status, _, err = run_main(capsys, "predict", model, folder, "-o", output)
    assert status == 2 and not output.exists()
    assert "b.png: not an image Pillow can read" in one_error_line(err)
