"""Model files: round trips, exact resume, atomic saves, and hostile or broken files."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import warnings
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnframe
from nnframe import Network, layer, loss, optimizer
from nnframe.core import registry
from nnframe.errors import MissingPluginError, ModelFileError, ModelFileWarning, NNFrameError
from tests.fake_plugins import entry_point, layers_plugin

ROOT = Path(__file__).resolve().parents[1]

# -- how to build each component for a round trip ----------------------------------------
# A registered layer of nnframe or of an nnframe-* distribution must have an entry here:
# (constructor keyword arguments, one sample's input shape). Losses and optimizers are built
# with no arguments unless listed; list non-default arguments to prove configs travel.
LAYER_CASES: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "dense": ({"output_size": 3, "init": "he_uniform"}, (5,)),
    "tanh": ({}, (5,)),
    "sigmoid": ({}, (5,)),
    "relu": ({}, (5,)),
    "leaky_relu": ({"negative_slope": 0.2}, (5,)),
    "softmax": ({}, (5,)),
    "log_softmax": ({"axis": -2}, (3, 4)),
    "silu": ({}, (5,)),
    "elu": ({"alpha": 0.5}, (5,)),
    "softplus": ({"beta": 2.0, "threshold": 5.0}, (5,)),
    "hard_sigmoid": ({}, (5,)),
    "dropout": ({"rate": 0.3}, (5,)),
    "flatten": ({}, (3, 4, 2)),
    "sequential": ({"layers": [{"type": "dense", "output_size": 4}, "tanh"]}, (5,)),
    "residual": ({"layers": [{"type": "dense", "output_size": 5}, "relu"]}, (5,)),
    "parallel": ({"branches": [[{"type": "dense", "output_size": 2}], ["sigmoid"]],
                  "merge": "concat"}, (5,)),
    "batch_norm": ({"momentum": 0.3, "eps": 1e-3}, (3, 4)),
    "standardize": ({"eps": 1e-9}, (3, 4)),
    "layer_norm": ({"eps": 1e-3}, (3, 4)),
    "embedding": ({"input_dim": 6, "output_dim": 3}, (4,)),
    "affine": ({}, (5,)),  # tests/plugin_dist/nnframe-example
    "running_center": ({"momentum": 0.3}, (5,)),
    "scaled_tanh": ({"factor": 1.5}, (5,)),
    "conv2d": ({"filters": 3, "kernel_size": 3, "padding": "same"}, (6, 6, 2)),
    "maxpool2d": ({"pool_size": 2}, (6, 6, 2)),
    "avgpool2d": ({"pool_size": 3, "stride": 1}, (6, 6, 2)),
    "conv1d": ({"filters": 3, "kernel_size": 3, "groups": 1, "padding": 1,
                "padding_mode": "reflect"}, (6, 2)),
    "separable_conv2d": ({"filters": 3, "kernel_size": 3, "depth_multiplier": 2,
                          "use_bias": False}, (6, 6, 2)),
    "global_avg_pool": ({}, (4, 3, 2)),
    "global_max_pool": ({}, (5, 2)),
    "adaptive_avg_pool2d": ({"output_size": (2, 3)}, (5, 6, 2)),
    "adaptive_max_pool2d": ({"output_size": (3, None)}, (5, 4, 2)),
    "rnn": ({"units": 3, "nonlinearity": "relu", "initial_state": "learned"},
            (4, 2)),  # plugins/nnframe-recurrent
    "lstm": ({"units": 3, "return_sequences": True}, (4, 2)),
    "gru": ({"units": 4, "bidirectional": True, "use_bias": False}, (5, 3)),
    "gelu": ({"approximate": "tanh"}, (5,)),
    "multi_head_attention": ({"num_heads": 2, "causal": True, "dropout": 0.1},
                             (4, 6)),  # plugins/nnframe-attention
    "transformer_encoder": ({"num_heads": 2, "feedforward_size": 5, "norm_first": True,
                             "activation": "gelu", "padding_mask": True}, (4, 7)),
    "positional_embedding": ({"max_length": 6}, (4, 3)),
    "sinusoidal_position": ({"padding_mask": True}, (4, 3)),
    "sequence_pool": ({"mode": "last"}, (4, 3)),
}
#: Layers that take indices (whole numbers from 0) rather than any real input.
INDEX_INPUTS = {"embedding"}
LOSS_KWARGS: dict[str, dict[str, Any]] = {"huber": {"delta": 0.5}, "smooth_l1": {"beta": 0.5}}
OPTIMIZER_KWARGS: dict[str, dict[str, Any]] = {
    "sgd": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
    "adam": {"learning_rate": 0.01, "beta1": 0.8},
    "adamw": {"learning_rate": 0.01, "weight_decay": 0.05},
    "rmsprop": {"learning_rate": 0.01, "momentum": 0.5},
}


def _project_components(kind: str) -> list[registry.Component]:
    """Registered components of nnframe and of the project's own plugin distributions."""
    table = registry.Registry(warn=lambda message: None).load()
    return [c for c in table.components(kind)
            if c.distribution == "nnframe" or c.distribution.startswith("nnframe-")]


def _ids(components: list[registry.Component]) -> list[str]:
    return [c.qualified_name for c in components]


LAYERS = _project_components("layer")
LOSSES = _project_components("loss")
OPTIMIZERS = _project_components("optimizer")


# -- helpers -----------------------------------------------------------------------------


def small_network(dtype: str = "float32") -> Network:
    net = Network([layer("dense", 3, 4), layer("tanh"), layer("dense", 4, 2)], dtype=dtype)
    return net.use("mse", optimizer("sgd", learning_rate=0.1, momentum=0.9))


def small_data(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    return gen.standard_normal((n, 3)).astype("float32"), gen.random((n, 2)).astype("float32")


def trained_network(dtype: str = "float32") -> Network:
    net = small_network(dtype)
    net.fit(*small_data(), epochs=2, batch_size=8, seed=3, verbose=0)
    return net


def assert_same_weights(a: Network, b: Network) -> None:
    pa, pb = a.parameters(), b.parameters()
    assert [p.key for p in pa] == [p.key for p in pb]
    for x, y in zip(pa, pb, strict=True):
        assert x.value.dtype == y.value.dtype
        np.testing.assert_array_equal(x.value, y.value, err_msg=x.key)


def read_contents(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and arrays of a model file, read with numpy alone."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    return header, arrays


def write_contents(path: Path, header: Any, arrays: dict[str, np.ndarray]) -> None:
    raw = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    with open(path, "wb") as file:
        np.savez(file, header=raw, **arrays)


def saved_model(tmp_path: Path) -> Path:
    return trained_network().save(tmp_path / "model.npz")


def temp_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def run_python(code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          capture_output=True, text=True, check=check)


# -- round trips -------------------------------------------------------------------------


def test_every_project_layer_has_a_round_trip_case():
    missing = sorted({c.name for c in LAYERS} - set(LAYER_CASES))
    assert not missing, f"add constructor arguments and an input shape to LAYER_CASES: {missing}"


@pytest.mark.parametrize("component", LAYERS, ids=_ids(LAYERS))
def test_layer_round_trip(component, tmp_path):
    kwargs, shape = LAYER_CASES[component.name]
    net = Network([layer(component.qualified_name, **kwargs)]).build(shape, seed=5)
    for value in (p.value for p in net.parameters()):  # not just the initial values
        value += np.linspace(-0.5, 0.5, value.size, dtype=value.dtype).reshape(value.shape)
    loaded = nnframe.load(net.save(tmp_path / "layer.npz"))

    original, copy = net.layers[0], loaded.layers[0]
    assert type(copy) is type(original)
    assert copy.get_config() == original.get_config()
    assert loaded.input_shape == shape and loaded.dtype == net.dtype
    assert_same_weights(net, loaded)
    rng = np.random.default_rng(0)
    x = (rng.integers(0, 6, (4, *shape)) if component.name in INDEX_INPUTS
         else rng.standard_normal((4, *shape))).astype("float32")
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))
    # Same RNG state, restored in place: even random layers (dropout) agree in training.
    np.testing.assert_array_equal(loaded.forward(x, training=True), net.forward(x, training=True))


@pytest.mark.parametrize("component", LOSSES, ids=_ids(LOSSES))
def test_loss_round_trip(component, tmp_path):
    net = small_network().use(loss(component.qualified_name,
                                   **LOSS_KWARGS.get(component.name, {})))
    loaded = nnframe.load(net.save(tmp_path / "loss.npz"))
    assert type(loaded.loss) is type(net.loss)
    assert loaded.loss.get_config() == net.loss.get_config()


@pytest.mark.parametrize("component", OPTIMIZERS, ids=_ids(OPTIMIZERS))
def test_optimizer_round_trip_continues_exactly(component, tmp_path):
    x, y = small_data()
    net = small_network()
    net.use("mse", optimizer(component.qualified_name,
                             **OPTIMIZER_KWARGS.get(component.name, {})))
    net.fit(x, y, epochs=2, batch_size=8, seed=1, verbose=0)
    loaded = nnframe.load(net.save(tmp_path / "opt.npz"))

    assert type(loaded.optimizer) is type(net.optimizer)
    assert loaded.optimizer.get_config() == net.optimizer.get_config()
    state, copy = net.optimizer.state_dict(), loaded.optimizer.state_dict()
    assert state.keys() == copy.keys()
    for key in state:
        assert copy[key].dtype == state[key].dtype
        np.testing.assert_array_equal(copy[key], state[key], err_msg=key)
    for each in (net, loaded):
        each.fit(x, y, epochs=4, batch_size=8, verbose=0, initial_epoch=each.epoch)
    assert loaded.epoch == net.epoch == 4
    assert_same_weights(net, loaded)


def test_file_is_plain_numpy_with_documented_keys(tmp_path):
    net = trained_network()
    header, arrays = read_contents(net.save(tmp_path / "m.npz"))
    assert header["format"] == "nnframe-model" and header["format_version"] == 2
    assert header["nnframe_version"] == nnframe.__version__
    assert (header["dtype"], header["input_shape"]) == ("float32", [3])
    assert header["layers"][0] == {
        "name": "dense", "distribution": "nnframe", "version": nnframe.__version__,
        "config": {"input_size": 3, "output_size": 4, "init": "glorot_uniform"}}
    assert header["loss"]["name"] == "mse" and header["metrics"] == []
    assert header["optimizer"]["config"] == {"learning_rate": 0.1, "momentum": 0.9,
                                             "nesterov": False}
    assert header["training"]["epoch"] == 2
    assert header["training"]["rng"] == net.rng.bit_generator.state
    assert set(arrays) == {"params/0.weights", "params/0.bias", "params/2.weights",
                           "params/2.bias", "optimizer/iterations",
                           *(f"optimizer/{k}.{n}/velocity" for k in (0, 2)
                             for n in ("weights", "bias"))}
    np.testing.assert_array_equal(arrays["params/2.bias"], net.layers[2].params["bias"])


def test_float64_network_stays_float64(tmp_path):
    net = trained_network("float64")
    loaded = nnframe.load(net.save(tmp_path / "m.npz"))
    assert loaded.dtype == np.float64
    assert all(p.value.dtype == np.float64 for p in loaded.parameters())
    assert all(v.dtype == np.float64 for k, v in loaded.optimizer.state_dict().items()
               if k != "iterations")
    assert_same_weights(net, loaded)


def test_unbuilt_network_round_trip(tmp_path):
    net = Network([layer("dense", output_size=4), layer("tanh")]).use("mse")
    loaded = nnframe.load(net.save(tmp_path / "m.npz"))
    assert not loaded.built and loaded.epoch == 0
    assert [type(x) for x in loaded.layers] == [type(x) for x in net.layers]
    assert loaded.layers[0].get_config() == net.layers[0].get_config()


def test_without_optimizer_keeps_weights_only(tmp_path):
    net = trained_network()
    header, arrays = read_contents(net.save(tmp_path / "m.npz", include_optimizer=False))
    assert header["optimizer"] is None and header["training"] is None
    assert not any(key.startswith("optimizer/") for key in arrays)
    loaded = nnframe.load(tmp_path / "m.npz")
    assert loaded.optimizer is None and loaded.epoch == 0 and loaded.loss is not None
    assert_same_weights(net, loaded)


def test_same_network_saves_the_same_bytes(tmp_path):
    net = trained_network()
    first = net.save(tmp_path / "a.npz").read_bytes()
    assert net.save(tmp_path / "b.npz").read_bytes() == first


def test_save_accepts_str_and_returns_the_path(tmp_path):
    target = str(tmp_path / "model.weights")  # any name: no suffix is added
    assert trained_network().save(target) == Path(target)
    assert nnframe.load(target).built


# -- resume ------------------------------------------------------------------------------

RESUME_SCRIPT = """
    import sys
    import numpy as np
    import nnframe
    checkpoint, result, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    x, y = np.load(sys.argv[4])["x"], np.load(sys.argv[4])["y"]
    net = nnframe.load(checkpoint)
    net.fit(x, y, epochs=epochs, batch_size=8, verbose=0, initial_epoch=net.epoch)
    net.save(result)
"""


def resume_network() -> Network:
    names = {c.name for c in registry.get_registry().components()}
    layers = [layer("dense", output_size=8), layer("tanh")]
    if "dropout" in names:  # a layer that draws from the network's Generator
        layers.append(layer("dropout", rate=0.25))
    layers.append(layer("dense", output_size=2))
    opt = optimizer("adam", learning_rate=0.01) if "adam" in names else optimizer(
        "sgd", learning_rate=0.05, momentum=0.9)
    return Network(layers).use("mse", opt)


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    x, y = small_data(40, seed=7)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    straight = resume_network()
    checkpoints = nnframe.ModelCheckpoint(tmp_path / "ckpt-{epoch}.npz", every=3)
    straight.fit(x, y, epochs=7, batch_size=8, seed=11, verbose=0, callbacks=[checkpoints])
    assert [p.name for p in checkpoints.saved] == ["ckpt-3.npz", "ckpt-6.npz"]

    run_python(RESUME_SCRIPT, str(tmp_path / "ckpt-3.npz"), str(tmp_path / "resumed.npz"),
               "7", str(tmp_path / "data.npz"))
    resumed = nnframe.load(tmp_path / "resumed.npz")
    assert resumed.epoch == straight.epoch == 7
    # Exact: the new process replays the same batches (the generator's state is in the
    # file) with the same shapes, operations, order and BLAS threads as the straight run.
    assert_same_weights(straight, resumed)
    assert resumed.rng.bit_generator.state == straight.rng.bit_generator.state
    # And the comparison has teeth: a run from the checkpoint with another seed differs.
    other = nnframe.load(tmp_path / "ckpt-3.npz")
    other.fit(x, y, epochs=7, batch_size=8, seed=12, verbose=0, initial_epoch=other.epoch)
    assert not np.array_equal(other.parameters()[0].value, straight.parameters()[0].value)


def test_model_checkpoint_arguments_are_checked(tmp_path):
    with pytest.raises(nnframe.ConfigError, match="every must be an integer >= 1"):
        nnframe.ModelCheckpoint(tmp_path / "c.npz", every=0)
    with pytest.raises(nnframe.ConfigError, match="not a valid template"):
        nnframe.ModelCheckpoint(tmp_path / "c-{step}.npz")


def test_model_checkpoint_formats_the_epoch_and_creates_directories(tmp_path):
    checkpoint = nnframe.ModelCheckpoint(tmp_path / "runs" / "c-{epoch:03d}.npz", every=2)
    small_network().fit(*small_data(), epochs=3, batch_size=8, seed=0, verbose=0,
                        callbacks=[checkpoint])
    assert checkpoint.saved == [tmp_path / "runs" / "c-002.npz"]
    assert nnframe.load(checkpoint.saved[0]).epoch == 2


def test_save_into_a_missing_directory(tmp_path):
    with pytest.raises(ModelFileError, match=r"could not write the model file .*No such file"):
        trained_network().save(tmp_path / "nowhere" / "m.npz")


def test_model_checkpoint_without_epoch_field_keeps_the_latest(tmp_path):
    net = small_network()
    checkpoint = nnframe.ModelCheckpoint(tmp_path / "last.npz", every=2)
    net.fit(*small_data(), epochs=5, batch_size=8, seed=0, verbose=0, callbacks=[checkpoint])
    assert checkpoint.saved == [tmp_path / "last.npz"] * 2
    assert nnframe.load(tmp_path / "last.npz").epoch == 4
    assert temp_files(tmp_path) == []


# -- components resolved through the registry --------------------------------------------


def extra_plugin():
    return layers_plugin("extra_plugin", "swish2")


def save_with_extra_plugin(tmp_path: Path, version: str = "1.2") -> Path:
    registry.get_registry().register_plugin(extra_plugin(), "extra",
                                            distribution="nnframe-extra", version=version)
    net = Network([layer("dense", 3, 2), layer("swish2")]).build((3,), seed=0)
    return net.save(tmp_path / "m.npz")


def test_missing_plugin_names_the_distribution_and_version(tmp_path):
    path = save_with_extra_plugin(tmp_path)
    registry.reset_registry()  # a process where nnframe-extra is not installed
    with pytest.raises(MissingPluginError) as info:
        nnframe.load(path)
    message = str(info.value)
    assert "layer 'swish2' from nnframe-extra (version 1.2 when saved)" in message
    assert "pip install 'nnframe-extra==1.2'" in message
    assert "\n" not in message


def test_plugin_that_failed_to_load_is_named(tmp_path):
    path = save_with_extra_plugin(tmp_path)
    broken = entry_point("nnframe-extra", ImportError("No module named 'scipy'"))
    registry.reset_registry(registry.Registry(entry_points=lambda: [broken],
                                              warn=lambda message: None))
    with pytest.raises(MissingPluginError, match=r"installed but failed to load: .*scipy"):
        nnframe.load(path)


def test_installed_plugin_without_the_component(tmp_path):
    path = save_with_extra_plugin(tmp_path)
    registry.reset_registry()
    registry.get_registry().register_plugin(layers_plugin("other", "gelu2"), "extra",
                                            distribution="nnframe-extra", version="2.0")
    with pytest.raises(MissingPluginError,
                       match=r"installed nnframe-extra 2\.0 does not provide them"):
        nnframe.load(path)


def test_other_plugin_version_loads_with_a_warning(tmp_path):
    path = save_with_extra_plugin(tmp_path, version="1.2")
    registry.reset_registry()
    registry.get_registry().register_plugin(extra_plugin(), "extra",
                                            distribution="nnframe-extra", version="1.3")
    with pytest.warns(ModelFileWarning,
                      match="saved with nnframe-extra 1.2 but nnframe-extra 1.3 is installed"):
        loaded = nnframe.load(path)
    assert type(loaded.layers[1]).__name__ == "Plugin_swish2"


def test_same_versions_load_without_warning(tmp_path):
    path = saved_model(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nnframe.load(path)


def test_other_nnframe_version_warns(tmp_path):
    path = saved_model(tmp_path)
    header, arrays = read_contents(path)
    for entry in (*header["layers"], header["loss"], header["optimizer"]):
        entry["version"] = "0.0.1"
    write_contents(path, header, arrays)
    with pytest.warns(ModelFileWarning, match=r"saved with nnframe 0\.0\.1 but nnframe "):
        nnframe.load(path)


@attrs.define(eq=False)
class Unregistered(nnframe.Layer):
    """A layer class that no plugin registered."""

    def forward(self, x, training=False):
        return x

    def backward(self, grad_output):
        return grad_output


def test_unregistered_layer_cannot_be_saved(tmp_path):
    net = Network([layer("dense", 3, 2), Unregistered()]).build((3,), seed=0)
    with pytest.raises(ModelFileError, match=r"layer 1 \(Unregistered\): .*Unregistered is "
                                             r"not a registered layer.*register_layers hook"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_unserialisable_config_cannot_be_saved(tmp_path):
    net = small_network()
    net.optimizer.nesterov = {"a set"}  # not JSON
    with pytest.raises(ModelFileError, match=r"the optimizer.*not JSON"):
        net.save(tmp_path / "m.npz")


# -- bad files ---------------------------------------------------------------------------


def edited(tmp_path: Path, edit) -> Path:
    """A valid model file whose header and arrays went through ``edit(header, arrays)``."""
    path = saved_model(tmp_path)
    header, arrays = read_contents(path)
    edit(header, arrays)
    write_contents(path, header, arrays)
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ModelFileError) as info:
        nnframe.load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    return message


def test_missing_file(tmp_path):
    assert "no such model file" in load_error(tmp_path / "nothing.npz")


def test_directory(tmp_path):
    assert "is a directory" in load_error(tmp_path)


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, os.urandom(4096), b"PK\x03\x04junk"])
def test_random_bytes(tmp_path, content):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    assert "not an .npz archive" in load_error(path)


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, fraction):
    path = saved_model(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    load_error(path)


def test_plain_npz_is_not_a_model(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, weights=np.ones(3))
    assert "not an nnframe model file" in load_error(path)


def test_zip_with_other_members_is_not_a_model(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "not an .npy array" in load_error(path)


def test_header_that_is_not_json(tmp_path):
    path = saved_model(tmp_path)
    _, arrays = read_contents(path)
    with open(path, "wb") as file:
        np.savez(file, header=np.frombuffer(b"{not json", np.uint8), **arrays)
    assert "not valid JSON" in load_error(path)


class Payload:
    """Unpickling this creates a marker file: the proof that pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("key", ["params/0.weights", "header", "optimizer/iterations"])
def test_planted_pickle_is_refused_and_never_runs(tmp_path, key):
    marker = tmp_path / "pwned"
    path = saved_model(tmp_path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays[key] = np.array([Payload(marker)], dtype=object)
    with open(path, "wb") as file:
        np.savez(file, **arrays)  # numpy pickles the object array

    message = load_error(path)
    assert "Python objects" in message and "pickle" in message
    assert not marker.exists()
    # The payload is live: numpy with pickling allowed does run it.
    with np.load(path, allow_pickle=True) as archive:
        archive[key]
    assert marker.exists()


def test_raw_pickle_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "m.npz"
    path.write_bytes(pickle.dumps(Payload(marker)))
    load_error(path)
    assert not marker.exists()


def test_text_arrays_are_refused(tmp_path):
    def plant(header, arrays):
        arrays["params/0.bias"] = np.array(["a", "b"])

    assert "model files hold only numbers" in load_error(edited(tmp_path, plant))


@pytest.mark.parametrize("version, expected", [
    (3, "format version 3 .* upgrade nnframe"),
    (0, "unknown model file format version 0"),
    ("1", "unknown model file format version '1'"),
])
def test_format_version(tmp_path, version, expected):
    def edit(header, arrays):
        header["format_version"] = version

    assert re.search(expected, load_error(edited(tmp_path, edit)))


def test_other_format_name(tmp_path):
    def edit(header, arrays):
        header["format"] = "keras"

    assert "not an nnframe model file" in load_error(edited(tmp_path, edit))


def test_wrong_config_arguments(tmp_path):
    def edit(header, arrays):
        header["layers"][0]["config"]["units"] = 4

    message = load_error(edited(tmp_path, edit))
    assert "layer 0 (nnframe:dense" in message and "saved config" in message
    assert "units" in message and "it accepts: input_size, output_size, init" in message


def test_invalid_config_value(tmp_path):
    def edit(header, arrays):
        header["optimizer"]["config"]["learning_rate"] = -1

    assert "learning_rate must be a number >= 0" in load_error(edited(tmp_path, edit))


def test_unknown_builtin_component(tmp_path):
    def edit(header, arrays):
        header["layers"][1]["name"] = "swish"

    with pytest.raises(MissingPluginError, match="layer 'swish' from nnframe"):
        nnframe.load(edited(tmp_path, edit))


@pytest.mark.parametrize("key, array, expected", [
    ("params/0.weights", np.zeros((4, 3), "float32"), r"has shape \(4, 3\), but .* \(3, 4\)"),
    ("params/0.weights", np.zeros((3, 4), "float64"), "has dtype float64, but .* float32"),
    ("params/0.bias", np.zeros(4, "int32"), "has dtype int32"),
    ("optimizer/0.bias/velocity", np.zeros(5, "float32"), r"has shape \(5,\)"),
    ("optimizer/iterations", np.array(-1), "iteration count"),
])
def test_wrong_array_shape_or_dtype(tmp_path, key, array, expected):
    def edit(header, arrays):
        arrays[key] = array

    assert re.search(expected, load_error(edited(tmp_path, edit)))


def test_missing_and_extra_weights(tmp_path):
    def drop(header, arrays):
        del arrays["params/2.bias"]

    assert "'params/2.bias' are missing" in load_error(edited(tmp_path, drop))

    def add(header, arrays):
        arrays["params/1.weights"] = np.zeros(3, "float32")

    assert "weights or state the layers do not have: params/1.weights" in load_error(
        edited(tmp_path, add))

    def stray(header, arrays):
        arrays["notes"] = np.zeros(1)

    assert "arrays that format version 2 does not have: notes" in load_error(
        edited(tmp_path, stray))


def test_optimizer_state_for_no_parameter(tmp_path):
    def edit(header, arrays):
        header["optimizer"]["state"].append("7.weights/velocity")
        arrays["optimizer/7.weights/velocity"] = np.zeros(3, "float32")

    assert "belongs to no parameter" in load_error(edited(tmp_path, edit))


@pytest.mark.parametrize("field, value", [
    ("dtype", "float16"), ("input_shape", [0]), ("input_shape", "3"), ("layers", []),
    ("training", {"epoch": -1, "rng": None}), ("training", {"epoch": 1, "rng": {"x": 1}}),
])
def test_invalid_header_fields(tmp_path, field, value):
    def edit(header, arrays):
        header[field] = value

    load_error(edited(tmp_path, edit))


def test_layers_that_cannot_be_built(tmp_path):
    def edit(header, arrays):
        header["input_shape"] = [5]

    assert "cannot be built for input shape (5,)" in load_error(edited(tmp_path, edit))


# -- fuzzing -----------------------------------------------------------------------------


@cache
def valid_model_bytes() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        return saved_model(Path(directory)).read_bytes()


def load_bytes_only_nnframe_errors(directory: Path, data: bytes) -> None:
    path = directory / "fuzzed.npz"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ModelFileWarning)
            nnframe.load(path)
    except NNFrameError:
        pass


FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_fuzz_truncations(tmp_path, cut):
    data = valid_model_bytes()
    load_bytes_only_nnframe_errors(tmp_path, data[: cut % len(data)])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)),
                      min_size=1, max_size=4))
def test_fuzz_byte_flips(tmp_path, flips):
    data = bytearray(valid_model_bytes())
    for position, mask in flips:
        data[position % len(data)] ^= mask
    load_bytes_only_nnframe_errors(tmp_path, bytes(data))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70) | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside a JSON document."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@FUZZ
@given(data=st.data())
def test_fuzz_header_values(tmp_path, data):
    """A valid archive whose JSON header has one value replaced: still only nnframe errors."""
    header, arrays = read_contents(_fuzz_source(tmp_path))
    paths = [p for p in _paths(header) if p]
    path = data.draw(st.sampled_from(paths))
    parent = header
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = data.draw(JSON_VALUES)
    buffer = io.BytesIO()
    raw = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    np.savez(buffer, header=raw, **arrays)
    load_bytes_only_nnframe_errors(tmp_path, buffer.getvalue())


def _fuzz_source(tmp_path: Path) -> Path:
    source = tmp_path / "source.npz"
    if not source.exists():
        source.write_bytes(valid_model_bytes())
    return source


# -- atomic saves ------------------------------------------------------------------------


def test_failing_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    path = saved_model(tmp_path)
    before = path.read_bytes()
    from nnframe.modelfile import npz
    from nnframe.modelfile import save as saving

    def write_half_then_fail(file, arrays):
        buffer = io.BytesIO()
        npz.write_npz(buffer, arrays)
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise RuntimeError("simulated crash in the middle of the write")

    monkeypatch.setattr(saving, "write_npz", write_half_then_fail)
    with pytest.raises(RuntimeError, match="simulated crash"):
        small_network().build((3,), seed=9).save(path)
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


needs_rlimit = pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"),
                                  reason="needs POSIX file size limits")

SAVE_UNDER_LIMIT = """
    import resource, signal, sys
    import nnframe
    net = nnframe.Network([nnframe.layer("dense", 64, 64)]).build((64,), seed=1)
    # Python ignores SIGXFSZ, so the write fails with EFBIG; the default action kills.
    if sys.argv[2] == "die":
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
    try:
        net.save(sys.argv[1])
    except nnframe.ModelFileError as exc:
        print(exc)
        sys.exit(3)
"""


@needs_rlimit
def test_disk_full_midway_leaves_the_old_file(tmp_path):
    path = saved_model(tmp_path)
    before = path.read_bytes()
    result = run_python(SAVE_UNDER_LIMIT, str(path), "fail", check=False)
    assert result.returncode == 3, result.stderr
    assert "could not write the model file" in result.stdout
    assert "previous file there is unchanged" in result.stdout
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


@needs_rlimit
def test_process_killed_midway_leaves_the_old_file(tmp_path):
    path = saved_model(tmp_path)
    before = path.read_bytes()
    result = run_python(SAVE_UNDER_LIMIT, str(path), "die", check=False)
    assert result.returncode == -signal.SIGXFSZ, result.stderr
    assert path.read_bytes() == before
    assert nnframe.load(path).epoch == 2
    leftovers = temp_files(tmp_path)  # a kill leaves only the hidden temp file
    assert len(leftovers) == 1 and leftovers[0].startswith(".model.npz.")


def test_compressed_archive_loads(tmp_path):
    net = trained_network()
    path = net.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays)
    with zipfile.ZipFile(path) as archive:
        assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_DEFLATED}
    assert_same_weights(net, nnframe.load(path))


def test_loading_weights_that_are_not_finite_warns(tmp_path):
    net = Network([layer("dense", 2, 2)]).build((2,), seed=0)
    net.layers[0].params["weights"][0, 0] = np.nan
    path = net.save(tmp_path / "nan.npz")
    with pytest.warns(nnframe.NonFiniteWeightsWarning, match="params/0.weights hold NaN"):
        nnframe.load(path)
