"""The readers of the user's files (csv, npy, npz) as data set components, their schema,
their splits, and the [data] table forms that name them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

import nnframe
from nnframe.config import load_config, load_data
from nnframe.datasets import catalog
from nnframe.datasets.schema import DataSchema, fit_schema
from nnframe.datasets.splits import split_rows
from nnframe.errors import ConfigError, DataError
from tests.fake_plugins import plugin_module

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PENGUINS = EXAMPLES / "data" / "penguins.csv"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def small_csv(folder: Path) -> Path:
    return write(folder, "small.csv", """
        colour,size,weight,label
        red,1.5,10,a
        blue,2.5,20,b
        red,3.5,30,a
        green,4.5,40,b
        blue,5.5,50,a
        red,6.5,60,b
    """)


# -- describing without reading --------------------------------------------------------


def test_a_reader_is_built_and_described_without_its_file(tmp_path):
    absent = tmp_path / "not-yet.csv"
    reader = nnframe.dataset("csv", path=absent, target="label")
    assert reader.sample_shape is None and reader.sizes == {} and not reader.ready()
    assert reader.describe() == {"reader": "csv", "paths": [str(absent)], "present": False,
                                 "columns": [], "target": ["label"]}
    assert reader.get_config()["path"] == str(absent)
    with pytest.raises(DataError, match=r"not-yet\.csv"):
        reader.read()


def test_describing_reads_only_the_header(tmp_path):
    reader = nnframe.dataset("csv", path=small_csv(tmp_path), target="label")
    assert reader.describe()["columns"] == ["colour", "size", "weight", "label"]


def test_stream_true_is_refused_not_pretended_by_readers_that_cannot(tmp_path):
    with pytest.raises(ConfigError, match="not yet for this reader"):
        nnframe.dataset("csv", path=tmp_path / "x.csv", stream=True)
    assert nnframe.dataset("csv", path=tmp_path / "x.csv", stream=False).stream is False


# -- reading and coding ------------------------------------------------------------------


def test_csv_columns_categories_and_classes(tmp_path):
    raw = nnframe.dataset("csv", path=small_csv(tmp_path), target="label").read()
    schema = fit_schema(raw)
    assert schema.feature_names == ("colour", "size", "weight")
    assert schema.features[0].categories == ("blue", "green", "red")
    assert schema.classes == ("a", "b")
    x, y = schema.inputs(raw), schema.targets(raw)
    assert x.dtype == np.float32 and x.shape == (6, 5)
    np.testing.assert_array_equal(x[0], [0, 0, 1, 1.5, 10])  # red one-hot, then numbers
    np.testing.assert_array_equal(y, [0, 1, 0, 1, 0, 1])


def test_features_drop_and_explicit_categorical(tmp_path):
    path = small_csv(tmp_path)
    raw = nnframe.dataset("csv", path=path, target="label", drop=["colour"]).read()
    assert raw.inputs.names == ("size", "weight")
    raw = nnframe.dataset("csv", path=path, target="label", features=["weight", "colour"],
                          categorical=["weight", "colour"]).read()
    schema = fit_schema(raw)
    assert schema.feature_names == ("weight", "colour")
    assert schema.features[0].categories == ("10", "20", "30", "40", "50", "60")


def test_a_text_in_a_number_column_names_file_line_and_column(tmp_path):
    path = write(tmp_path, "bad.csv", """
        a,b,label
        1,2,x
        3,oops,y
    """)
    raw = nnframe.dataset("csv", path=path, target="label", categorical=[]).read()
    with pytest.raises(DataError, match=r"bad.csv: line 3, column 'b': 'oops' is not a number"):
        fit_schema(raw)


def test_missing_values_are_named_dropped_or_filled(tmp_path):
    with pytest.raises(DataError, match=r"11 rows have missing values: line 5 "
                                        r"\(bill_length_mm.*\); line 10 \(sex\)"):
        nnframe.dataset("csv", path=PENGUINS, target="species").read()
    dropped = nnframe.dataset("csv", path=PENGUINS, target="species", missing="drop").read()
    assert len(dropped) == 333
    filled = nnframe.dataset("csv", path=PENGUINS, target="species", missing="fill").read()
    schema = fit_schema(filled, missing="fill")
    x = schema.inputs(filled)
    assert x.shape == (344, 10) and np.isfinite(x).all()
    bill = schema.feature_names.index("bill_length_mm")
    column = 3 + bill - 1  # island's three categories come first
    assert x[2 + 1, column] == np.float32(schema.features[bill].fill)  # line 5 is row 3


def test_a_missing_column_and_an_unknown_category_are_named(tmp_path):
    raw = nnframe.dataset("csv", path=small_csv(tmp_path), target="label").read()
    schema = fit_schema(raw)
    other = write(tmp_path, "new.csv", """
        weight,size,extra
        10,1.5,9
    """)
    with pytest.raises(DataError, match=r"new.csv: no column 'colour'"):
        schema.read(other)
    other = write(tmp_path, "new2.csv", """
        weight,colour,size
        10,purple,1.5
    """)
    with pytest.raises(DataError, match=r"new2.csv: line 2, column 'colour': the category "
                                        r"'purple' was not in the training data"):
        schema.inputs(schema.read(other))


def test_new_rows_in_any_column_order_with_extra_columns(tmp_path):
    raw = nnframe.dataset("csv", path=small_csv(tmp_path), target="label").read()
    schema = fit_schema(raw)
    other = write(tmp_path, "new.csv", """
        note,weight,size,colour
        x,30,3.5,red
    """)
    np.testing.assert_array_equal(schema.inputs(schema.read(other)),
                                  schema.inputs(raw)[2:3])


def test_regression_targets_are_scaled_and_come_back_in_their_units(tmp_path):
    raw = nnframe.dataset("csv", path=small_csv(tmp_path), target="weight",
                          drop=["label"]).read()
    schema = fit_schema(raw)
    assert schema.classes is None and schema.target_mean == (35.0,)
    y = schema.targets(raw)
    assert y.shape == (6,) and abs(float(y.mean())) < 1e-6
    np.testing.assert_allclose(schema.target_values(y), [10, 20, 30, 40, 50, 60], rtol=1e-6)


def test_the_schema_round_trips_through_json(tmp_path):
    raw = nnframe.dataset("csv", path=PENGUINS, target="species", missing="fill").read()
    schema = fit_schema(raw, missing="fill", seed=3)
    assert DataSchema.from_json(schema.to_json(), "here") == schema
    with pytest.raises(nnframe.ModelFileError, match="here: the data schema"):
        DataSchema.from_json({"kind": "table", "reader": "csv", "features": [{"name": 3}]},
                             "here")


def test_npy_and_npz_readers(tmp_path):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.array([0, 1, 0, 1, 0, 1])
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.savez(tmp_path / "d.npz", inputs=x, labels=y)
    raw = nnframe.dataset("npy", x=tmp_path / "x.npy", y=tmp_path / "y.npy").read()
    assert isinstance(raw.inputs, np.memmap)
    x_read, y_read = nnframe.dataset("npz", path=tmp_path / "d.npz", x="inputs",
                                     y="labels").load()
    np.testing.assert_array_equal(x_read, x)
    np.testing.assert_array_equal(y_read, y)
    with pytest.raises(DataError, match="has no array 'x'; it holds inputs, labels"):
        nnframe.dataset("npz", path=tmp_path / "d.npz").read()
    np.save(tmp_path / "short.npy", y[:4])
    with pytest.raises(DataError, match="6 input samples but 4 targets"):
        nnframe.dataset("npy", x=tmp_path / "x.npy", y=tmp_path / "short.npy").read()


# -- splits ------------------------------------------------------------------------------


def test_splits_are_stratified_seeded_and_repeatable():
    labels = np.repeat([0, 1, 2], [50, 30, 20])  # sorted by class, as real files are
    keep, held = split_rows(100, 0.2, 7, labels)
    assert len(held) == 20 and np.bincount(labels[held]).tolist() == [10, 6, 4]
    again = split_rows(100, 0.2, 7, labels)
    assert np.array_equal(held, again[1]) and np.array_equal(keep, again[0])
    assert not np.array_equal(held, split_rows(100, 0.2, 8, labels)[1])
    assert sorted(np.concatenate([keep, held]).tolist()) == list(range(100))
    with pytest.raises(DataError, match="leaves no training"):
        split_rows(3, 0.1, 0)


# -- the [data] table --------------------------------------------------------------------


CONFIG = """
[model]
layers = [{{ type = "standardize" }}, {{ type = "dense", output_size = 3 }}]
[loss]
type = "cross_entropy"
[optimizer]
type = "adam"
[data]
dataset = {{ type = "csv", path = "{path}", target = "species", missing = "fill" }}
{extra}
[train]
epochs = 1
seed = 5
"""


def test_config_paths_are_relative_to_the_config_and_split_with_the_seed(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    (tmp_path / "penguins.csv").write_bytes(PENGUINS.read_bytes())
    path = write(folder, "p.toml", CONFIG.format(path="../penguins.csv",
                                                 extra="test_split = 0.2\n"
                                                       "validation_split = 0.1"))
    config = load_config(path)
    assert config.data.arguments["path"] == str(folder / "../penguins.csv")
    first = load_data(config.data, seed=5)
    second = load_data(config.data, seed=5)
    assert np.array_equal(first.x_test, second.x_test)
    assert (len(first.x_train), len(first.validation[0]), len(first.x_test)) == (247, 28, 69)
    assert np.bincount(first.y_test).tolist() == [30, 14, 25]  # 152, 68, 124 rows of each
    assert "stratified by class" in first.describe("penguins.csv")
    assert first.schema.seed == 5


def test_a_separate_test_file(tmp_path):
    (tmp_path / "train.csv").write_bytes(PENGUINS.read_bytes())
    (tmp_path / "test.csv").write_bytes(PENGUINS.read_bytes())
    path = write(tmp_path, "p.toml", CONFIG.format(
        path="train.csv", extra='test = { type = "csv", path = "test.csv", '
                                'target = "species", missing = "fill" }'))
    data = load_data(load_config(path).data, seed=0)
    assert len(data.x_train) == len(data.x_test) == 344


def test_config_problems_are_reported_before_reading(tmp_path):
    path = write(tmp_path, "p.toml", CONFIG.format(path="absent.csv", extra="test_split = 0.2"))
    load_config(path)  # the file is read when training starts, not when checking
    bad = write(tmp_path, "bad.toml", CONFIG.format(
        path="x.csv", extra="test_split = 0.2\ntest = \"mnist_sample\"").replace(
        'dataset = { type = "csv"', 'dataset = { type = "csv", missing_values = 1, x = 2'))
    with pytest.raises(nnframe.ConfigError) as info:
        load_config(bad)
    text = str(info.value)
    assert "data.dataset.missing_values: unknown argument" in text
    assert "data.test_split: give either a test file (test) or test_split" in text


def test_a_file_where_a_name_belongs_gets_the_table_to_write(tmp_path):
    path = write(tmp_path, "p.toml", CONFIG.replace(
        'dataset = {{ type = "csv", path = "{path}", target = "species", missing = "fill" }}',
        'dataset = "../data/bc_train.csv"').format(extra=""))
    with pytest.raises(nnframe.ConfigError, match=r"data.dataset: '../data/bc_train.csv' is "
                       r'a file, not a data set name; read it with a reader: dataset = '
                       r'\{ type = "csv", path = "../data/bc_train.csv", target'):
        load_config(path)


def test_a_broken_data_set_is_named_and_skipped():
    def broken():
        raise FileNotFoundError("breast_cancer/train.csv")

    def register_datasets(register):
        register("broken_files", broken)

    registry = nnframe.get_registry()
    registry.register_plugin(plugin_module("planted", register_datasets=register_datasets),
                             "planted")
    skipped: list[str] = []
    assert catalog.for_input_shape((28, 28, 1), skipped).name in ("mnist", "mnist_sample")
    assert len(skipped) == 1 and "broken_files" in skipped[0]
    assert "FileNotFoundError: breast_cancer/train.csv" in skipped[0]


@pytest.mark.parametrize("reading", [{"size": [10**9, 10**9]}, {"scale": "big"},
                                     {"delimiter": ",,"}, {"surprise": 1}, "csv"])
def test_a_schema_with_hostile_reading_settings_is_refused(reading):
    with pytest.raises(nnframe.ModelFileError, match="the data schema in the header"):
        DataSchema.from_json({"kind": "images", "reader": "image_folder",
                              "reading": reading}, "model.npz")
