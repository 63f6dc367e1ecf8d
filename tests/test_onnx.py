"""ONNX export: onnxruntime runs the exported model with nnframe's predictions.

Every exported model passes ``onnx.checker.check_model(..., full_check=True)`` and its
onnxruntime outputs equal `Network.predict` within 1e-5 relative to the outputs' scale
(max |onnx - nnframe| / max |nnframe|; float32 rounding of values near zero makes an
element-by-element relative error meaningless) at batch sizes 1, 7 and 500, from one
session, so the batch axis is dynamic. The conv and recurrent layers are tested in their
plugins' test folders; the reference workloads that need them are here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import attrs
import numpy as np
import pytest

import nnframe
from nnframe.cli import main
from tests.fake_plugins import entry_point, plugin_module

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import nnframe.onnx  # noqa: E402

L = nnframe.layer
BATCH_SIZES = (1, 7, 500)
TOLERANCE = 1e-5


def relative_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """max |got - expected| / max |expected|."""
    scale = float(np.max(np.abs(expected)))
    return float(np.max(np.abs(got.astype(np.float64) - expected))) / max(scale, 1e-30)


def with_random_biases(network: nnframe.Network, seed: int = 0) -> nnframe.Network:
    """Biases start at zero, where a converter that drops them would go unnoticed."""
    rng = np.random.default_rng(seed)
    for parameter in network.parameters():
        if parameter.key.endswith("bias"):
            parameter.value[...] = rng.normal(0.0, 0.3, parameter.value.shape)
    return network


def built(layers: list, input_shape: tuple[int, ...], dtype: str = "float32",
          seed: int = 0) -> nnframe.Network:
    network = nnframe.Network(layers, dtype=dtype).build(input_shape, seed=seed)
    return with_random_biases(network, seed)


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def assert_exports_faithfully(network: nnframe.Network, x: np.ndarray | None = None,
                              batch_sizes: tuple[int, ...] = BATCH_SIZES,
                              tolerance: float = TOLERANCE) -> dict[int, float]:
    """Export, check, run at each batch size; return the relative difference per size."""
    model = nnframe.onnx.to_model(network)
    onnx.checker.check_model(model, full_check=True)
    runner = session(model)
    if x is None:
        rng = np.random.default_rng(1)
        x = rng.standard_normal((max(batch_sizes), *network.input_shape)).astype(np.float32)
    differences = {}
    for size in batch_sizes:
        batch = x[:size]
        (got,) = runner.run(["output"], {"input": batch})
        expected = network.predict(batch)
        assert got.dtype == np.float32 and got.shape == expected.shape
        differences[size] = relative_difference(got, expected)
    assert max(differences.values()) <= tolerance, differences
    return differences


def mnist_images() -> np.ndarray:
    from nnframe.datasets import mnist_sample

    return mnist_sample("test")[0]  # (500, 28, 28, 1) in [0, 1]


# -- the reference workloads --------------------------------------------------------------


def test_seed_mlp():
    network = built([L("dense", 784, 100), L("tanh"), L("dense", 100, 50), L("tanh"),
                     L("dense", 50, 10), L("tanh")], (784,))
    assert_exports_faithfully(network, mnist_images().reshape(-1, 784))


def test_mlp():
    network = built([L("flatten"), L("dense", output_size=256), L("relu"),
                     L("dense", output_size=128), L("relu"), L("dense", output_size=10)],
                    (28, 28, 1))
    assert_exports_faithfully(network, mnist_images())


def test_cnn_with_one_transpose_at_each_end():
    pytest.importorskip("nnframe_conv", reason="nnframe-conv is not installed")
    network = built([L("conv2d", 8, 3), L("relu"), L("maxpool2d", 2), L("conv2d", 16, 3),
                     L("relu"), L("maxpool2d", 2), L("flatten"), L("dense", 400, 10)],
                    (28, 28, 1))
    assert_exports_faithfully(network, mnist_images())
    ops = [node.op_type for node in nnframe.onnx.to_model(network).graph.node]
    assert ops == ["Transpose", "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool",
                   "Transpose", "Flatten", "Gemm"]


def test_seq_mnist():
    pytest.importorskip("nnframe_recurrent", reason="nnframe-recurrent is not installed")
    network = built([L("lstm", 128), L("dense", 128, 10)], (28, 28))
    assert_exports_faithfully(network, mnist_images().reshape(-1, 28, 28))


# -- every built-in layer, and the composites ---------------------------------------------


@pytest.mark.parametrize(("layers", "input_shape"), [
    pytest.param([L("dense", output_size=3)], (2, 4), id="dense-on-3d-input"),
    pytest.param([L("sigmoid"), L("tanh"), L("relu")], (5,), id="activations"),
    pytest.param([L("leaky_relu", negative_slope=0.2)], (6,), id="leaky_relu"),
    pytest.param([L("dense", output_size=4), L("softmax")], (3, 5), id="softmax"),
    pytest.param([L("dropout", rate=0.5), L("dense", output_size=2)], (4,), id="dropout"),
    pytest.param([L("dropout")], (4,), id="only-dropout"),
    pytest.param([L("flatten"), L("dense", output_size=2)], (3, 4, 2), id="flatten"),
])
def test_builtin_layers(layers, input_shape):
    network = built(layers, input_shape)
    assert_exports_faithfully(network)


COMPOSITES = {
    "residual": lambda: [
        L("dense", output_size=8), L("residual", layers=[
            {"type": "dense", "output_size": 8}, "relu", {"type": "dense", "output_size": 8}]),
        L("relu"), L("dense", output_size=3)],
    "parallel-concat": lambda: [
        L("parallel", branches=[[{"type": "dense", "output_size": 3}],
                                [{"type": "dense", "output_size": 2}, "tanh"], []]),
        L("dense", output_size=2)],
    "parallel-add": lambda: [
        L("parallel", merge="add", branches=[[{"type": "dense", "output_size": 5}, "tanh"],
                                             [], [{"type": "dense", "output_size": 5}]])],
    "parallel-one-empty-branch": lambda: [L("parallel", branches=[[]])],
    "sequential": lambda: [L("sequential", layers=[{"type": "dense", "output_size": 6},
                                                   "sigmoid", "dropout"]),
                           L("dense", output_size=2)],
    "nested": lambda: [
        L("sequential", layers=[{"type": "residual", "layers": [
            {"type": "parallel", "merge": "concat", "branches": [
                [{"type": "dense", "output_size": 2}],
                [{"type": "residual", "layers": [{"type": "dense", "output_size": 5},
                                                 "tanh"]},
                 {"type": "dense", "output_size": 3}]]}]}, "relu"]),
        L("dense", output_size=3), L("softmax")],
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_composite_networks(name):
    network = built(COMPOSITES[name](), (5,))
    assert_exports_faithfully(network)


def test_a_composite_converts_plugin_layers_inside_it():
    pytest.importorskip("nnframe_conv", reason="nnframe-conv is not installed")
    network = built([L("residual", layers=[
        {"type": "conv2d", "filters": 2, "kernel_size": 3, "padding": "same"}, "relu",
        {"type": "maxpool2d", "pool_size": 1}]),
        L("flatten"), L("dense", output_size=2)], (6, 6, 2))
    assert_exports_faithfully(network)


# -- what the model holds -----------------------------------------------------------------


def test_names_dynamic_batch_opset_and_metadata(tmp_path):
    pytest.importorskip("nnframe_conv", reason="nnframe-conv is not installed")
    network = built([L("conv2d", 2, 3), L("flatten"),
                     L("residual", layers=[{"type": "dense", "output_size": 8}])],
                    (4, 4, 1))
    path = nnframe.onnx.export(network, tmp_path / "m.onnx")
    model = onnx.load(path)
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (graph_input,), (graph_output,) = model.graph.input, model.graph.output
    assert (graph_input.name, graph_output.name) == ("input", "output")
    dims = [[d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
            for value in (graph_input, graph_output)]
    assert dims == [["batch", 4, 4, 1], ["batch", 8]]
    assert graph_input.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.producer_name == "nnframe" and model.producer_version == nnframe.__version__
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["nnframe_version"] == nnframe.__version__
    assert json.loads(meta["nnframe_input_shape"]) == [4, 4, 1]
    from importlib.metadata import version

    assert json.loads(meta["nnframe_distributions"]) == {
        "nnframe": nnframe.__version__, "nnframe-conv": version("nnframe-conv")}
    layers = json.loads(meta["nnframe_layers"])
    assert [(e["where"], e["name"], e["distribution"], e["converter"]) for e in layers] == [
        ("layer 0", "conv2d", "nnframe-conv", "nnframe-conv:conv2d"),
        ("layer 1", "flatten", "nnframe", "nnframe:flatten"),
        ("layer 2", "residual", "nnframe", "nnframe:residual")]
    assert [e["name"] for e in layers[2]["layers"]] == ["dense"]


def test_a_later_opset_can_be_chosen_and_an_older_one_is_refused():
    network = built([L("dense", 3, 2), L("tanh")], (3,))
    model = nnframe.onnx.to_model(network, opset=18)
    assert [o.version for o in model.opset_import] == [18]
    assert_exports_faithfully(network)
    for opset in (16, 10_000, "17", True):
        with pytest.raises(nnframe.ExportError, match="opset must be an integer from 17"):
            nnframe.onnx.to_model(network, opset=opset)


def test_a_float64_network_is_exported_as_float32():
    network = built([L("dense", 6, 8), L("tanh"), L("dense", 8, 3)], (6,), dtype="float64")
    model = nnframe.onnx.to_model(network)
    assert {t.data_type for t in model.graph.initializer} == {onnx.TensorProto.FLOAT}
    assert {p.key: p.value for p in model.metadata_props}["nnframe_dtype"] == "float64"
    assert_exports_faithfully(network)  # float32 rounding only


def test_the_exported_model_does_not_change_when_the_network_trains_on():
    network = built([L("dense", 3, 2)], (3,))
    model = nnframe.onnx.to_model(network)
    before = network.predict(np.ones((1, 3), np.float32))
    network.layers[0].params["weights"][...] += 1.0
    (got,) = session(model).run(None, {"input": np.ones((1, 3), np.float32)})
    np.testing.assert_allclose(got, before, rtol=1e-6)


# -- errors: one line, exit 2, nothing written --------------------------------------------


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    captured = capsys.readouterr()
    return info.value.code, captured.out, captured.err


def test_cli_exports_a_model_file(tmp_path, capsys):
    network = built([L("flatten"), L("dense", output_size=4), L("softmax")], (3, 2))
    network.use("cross_entropy", "adam").save(tmp_path / "m.npz")
    code, out, err = run_cli(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")],
                             capsys)
    assert (code, err) == (0, "")
    assert out == (f"wrote {tmp_path / 'm.onnx'}: ONNX opset 17, input 'input' (batch, 3, 2) "
                   "and output 'output' (batch, 4), float32\n")
    x = np.random.default_rng(0).standard_normal((9, 3, 2)).astype(np.float32)
    runner = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert relative_difference(runner.run(None, {"input": x})[0],
                               nnframe.load(tmp_path / "m.npz").predict(x)) < TOLERANCE


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code == 2 and out == ""
    assert err.startswith("nnframe: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


def test_cli_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    (tmp_path / "notes.npz").write_text("not a model")
    np.save(tmp_path / "array.npy", np.zeros(3))
    for name in ("notes.npz", "array.npy", "missing.npz"):
        assert_one_line_error(*run_cli(["export", str(tmp_path / name),
                                        str(tmp_path / "out.onnx")], capsys), name)
    assert not (tmp_path / "out.onnx").exists()


def test_cli_refuses_an_unbuilt_network(tmp_path, capsys):
    nnframe.Network([L("dense", 3, 2)]).save(tmp_path / "unbuilt.npz")
    assert_one_line_error(*run_cli(["export", str(tmp_path / "unbuilt.npz"),
                                    str(tmp_path / "out.onnx")], capsys),
                          "never built or trained")
    assert not (tmp_path / "out.onnx").exists()
    with pytest.raises(nnframe.NetworkStateError, match="not built"):
        nnframe.onnx.to_model(nnframe.Network([L("dense", 3, 2)]))


@pytest.mark.parametrize("target", ["no-such-folder/m.onnx", "a-file/m.onnx", ".", ""])
def test_cli_refuses_an_unwritable_output_path(tmp_path, capsys, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("in the way")
    built([L("dense", 3, 2)], (3,)).save(tmp_path / "m.npz")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert_one_line_error(*run_cli(["export", "m.npz", target], capsys), "nothing was written"
                          if target not in (".", "") else "cannot write")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no temporary file left
    assert (tmp_path / "a-file").read_text() == "in the way"


def test_cli_never_overwrites_the_model_with_its_export(tmp_path, capsys):
    built([L("dense", 3, 2)], (3,)).save(tmp_path / "m.npz")
    saved = (tmp_path / "m.npz").read_bytes()
    assert_one_line_error(*run_cli(["export", str(tmp_path / "m.npz"),
                                    str(tmp_path / "." / "m.npz")], capsys),
                          "is the model file itself")
    assert (tmp_path / "m.npz").read_bytes() == saved


def test_missing_onnx_names_the_extra(tmp_path, capsys, monkeypatch):
    built([L("dense", 3, 2)], (3,)).save(tmp_path / "m.npz")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    assert_one_line_error(*run_cli(["export", str(tmp_path / "m.npz"),
                                    str(tmp_path / "m.onnx")], capsys),
                          "needs the onnx package", "pip install 'nnframe[onnx]'")
    with pytest.raises(nnframe.MissingExtraError, match=r"pip install 'nnframe\[onnx\]'"):
        nnframe.onnx.export(built([L("tanh")], (3,)), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_importing_nnframe_and_listing_converters_never_imports_onnx():
    code = ("import sys, json, nnframe, nnframe.onnx, nnframe.cli; "
            "from nnframe.core.registry import get_registry; "
            "rows = [c.summary for c in get_registry().components('converter')]; "
            "print(json.dumps([len(rows), sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('onnx', 'onnxruntime') "
            "or m.startswith(('nnframe.onnx.', 'nnframe_conv.conv'))) ]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    count, imported = json.loads(result.stdout)
    assert count >= 11 and imported == []


# -- converters from plugins: found by the resolution rule, and named in errors ----------


@attrs.define(eq=False)
class Swish(nnframe.Layer):
    """y = x * sigmoid(x): a plugin layer that the tests give converters or not."""

    def forward(self, x, training=False):
        return x / (1.0 + np.exp(-x))

    def backward(self, grad_output):
        raise NotImplementedError


@attrs.define(eq=False)
class SwishConverter(nnframe.Converter):
    """Converts swish: Mul(x, Sigmoid(x))."""

    def convert(self, layer, x, graph):
        return graph.node("Mul", [x, graph.node("Sigmoid", [x])])


@attrs.define(eq=False)
class ClaimingSwishConverter(SwishConverter):
    """Converts my-plugin's swish, from another distribution."""

    converts = "my_plugin:swish"  # any spelling of the distribution's name


def use_plugins(*plugins: tuple[str, dict]) -> None:
    """Install in-process distributions: (distribution, {hook: function})."""
    table = nnframe.core.registry.Registry(entry_points=lambda: [
        entry_point(distribution, plugin_module(distribution.replace("-", "_"), **hooks))
        for distribution, hooks in plugins], warn=lambda message: None)
    nnframe.core.registry.reset_registry(table)


def swish_layer(register):
    register("swish", Swish)


def swish_network() -> nnframe.Network:
    return built([L("dense", 3, 4), L("my-plugin:swish"), L("dense", 4, 2)], (3,))


def test_a_plugin_layer_without_a_converter_is_named_with_its_distribution(tmp_path, capsys):
    use_plugins(("my-plugin", {"register_layers": swish_layer}))
    network = swish_network()
    network.save(tmp_path / "m.npz")
    (tmp_path / "m.onnx").write_bytes(b"an earlier export")
    message = ("layer 1 (swish from my-plugin) has no ONNX converter; my-plugin registers "
               "none for 'swish' and no other plugin converts it")
    with pytest.raises(nnframe.ExportError, match=r"^layer 1 \(swish from my-plugin\) has no"):
        nnframe.onnx.export(network, tmp_path / "m.onnx")
    assert_one_line_error(*run_cli(["export", str(tmp_path / "m.npz"),
                                    str(tmp_path / "m.onnx")], capsys), message)
    assert (tmp_path / "m.onnx").read_bytes() == b"an earlier export"


def test_inside_a_composite_the_path_to_the_layer_is_named():
    use_plugins(("my-plugin", {"register_layers": swish_layer}))
    network = built([L("residual", layers=[{"type": "dense", "output_size": 3},
                                           {"type": "sequential", "layers": ["my-plugin:swish"]}
                                           ])], (3,))
    with pytest.raises(nnframe.ExportError, match=(
            r"^layer 0 \(residual\), inner layer 1 \(sequential\), inner layer 0 \(swish "
            r"from my-plugin\) has no ONNX converter")):
        nnframe.onnx.to_model(network)


def test_a_plugin_converts_its_own_layer():
    def converters(register):
        register("swish", SwishConverter)

    use_plugins(("my-plugin", {"register_layers": swish_layer,
                               "register_converters": converters}))
    network = swish_network()
    assert_exports_faithfully(network)
    meta = {p.key: p.value for p in nnframe.onnx.to_model(network).metadata_props}
    assert json.loads(meta["nnframe_layers"])[1]["converter"] == "my-plugin:swish"


def test_a_third_party_converts_another_distributions_layer_when_it_says_so():
    def claiming(register):
        register("swish", ClaimingSwishConverter)

    def unclaimed(register):
        register("swish", SwishConverter)  # same name, but converts its own swish only

    use_plugins(("my-plugin", {"register_layers": swish_layer}),
                ("swish-onnx", {"register_converters": claiming}),
                ("other", {"register_converters": unclaimed}))
    network = swish_network()
    assert_exports_faithfully(network)
    meta = {p.key: p.value for p in nnframe.onnx.to_model(network).metadata_props}
    assert json.loads(meta["nnframe_layers"])[1]["converter"] == "swish-onnx:swish"
    assert "swish-onnx" in json.loads(meta["nnframe_distributions"])


def test_the_layers_own_converter_wins_and_two_claims_are_ambiguous():
    def own(register):
        register("swish", SwishConverter)

    def claiming(register):
        register("swish", ClaimingSwishConverter)

    use_plugins(("my-plugin", {"register_layers": swish_layer, "register_converters": own}),
                ("swish-onnx", {"register_converters": claiming}))
    assert nnframe.onnx.converter_for(
        nnframe.get_registry().get("layer", "my-plugin:swish")).distribution == "my-plugin"

    use_plugins(("my-plugin", {"register_layers": swish_layer}),
                ("swish-onnx", {"register_converters": claiming}),
                ("swish-onnx-2", {"register_converters": claiming}))
    with pytest.raises(nnframe.AmbiguousComponentError, match=(
            r"^layer 1 \(swish from my-plugin\): .*swish-onnx:swish .*swish-onnx-2:swish")):
        nnframe.onnx.to_model(swish_network())


def test_a_builtin_converter_never_converts_a_plugin_layer_of_the_same_name():
    def dense_layer(register):
        register("dense", Swish)

    use_plugins(("my-plugin", {"register_layers": dense_layer}))
    network = built([L("my-plugin:dense")], (3,))
    with pytest.raises(nnframe.ExportError, match=r"layer 0 \(dense from my-plugin\) has no"):
        nnframe.onnx.to_model(network)


@pytest.mark.parametrize(("convert", "message"), [
    (lambda layer, x, graph: 1 / 0,
     "its ONNX converter my-plugin:swish raised ZeroDivisionError"),
    (lambda layer, x, graph: "nowhere",
     "its ONNX converter my-plugin:swish returned 'nowhere', not the name of a tensor"),
    (lambda layer, x, graph: graph.node("Tanh", ["nowhere"]),
     "unknown input tensor 'nowhere'"),
    (lambda layer, x, graph: graph.node("NoSuchOperator", [x]),
     "the ONNX graph the converters made is not valid"),
    (lambda layer, x, graph: graph.node("Concat", [x, x], axis=5),
     "the ONNX graph the converters made is not valid"),
])
def test_a_broken_converter_is_reported_and_nothing_is_written(tmp_path, convert, message):
    @attrs.define(eq=False)
    class Broken(nnframe.Converter):
        """Converts nothing right."""

        def convert(self, layer, x, graph):
            return convert(layer, x, graph)

    def converters(register):
        register("swish", Broken)

    use_plugins(("my-plugin", {"register_layers": swish_layer,
                               "register_converters": converters}))
    with pytest.raises(nnframe.ExportError) as info:
        nnframe.onnx.export(swish_network(), tmp_path / "m.onnx")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_unregistered_layer_is_named():
    network = built([L("dense", 3, 3), Swish()], (3,))
    with pytest.raises(nnframe.ExportError,
                       match=r"^layer 1 \(Swish\) is not a registered layer"):
        nnframe.onnx.to_model(network)


def test_nnframe_list_and_check_see_the_converters():
    listed = subprocess.run([sys.executable, "-m", "nnframe", "list", "converters", "--json"],
                            capture_output=True, text=True, check=True)
    rows = {(row["distribution"], row["name"]): row for row in json.loads(listed.stdout)}
    builtin = {"dense", "tanh", "sigmoid", "relu", "leaky_relu", "softmax", "dropout",
               "flatten", "sequential", "residual", "parallel"}
    assert builtin <= {name for distribution, name in rows if distribution == "nnframe"}
    assert rows[("nnframe", "dropout")]["summary"].startswith("Converts dropout")
    checked = subprocess.run([sys.executable, "-m", "nnframe", "check", *sorted(builtin)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


# -- the page "Deploying with ONNX" -------------------------------------------------------

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "onnx.md"


def page_blocks(heading: str, language: str) -> list[str]:
    section = DOCS_PAGE.read_text().split(f"{heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def test_the_pages_onnxruntime_snippets_run(tmp_path):
    code = page_blocks("## Run it with onnxruntime", "python")[0]
    code += page_blocks("### Metadata", "python")[0]
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    accuracy, difference, distributions = result.stdout.splitlines()
    assert float(accuracy.split()[-1].rstrip("%")) > 80
    assert float(difference.split()[-1]) < 1e-4
    assert distributions == repr({"nnframe": nnframe.__version__})


def test_the_pages_error_example_is_what_export_says():
    (shown,) = page_blocks("## What exports", "text")
    use_plugins(("nnframe-swish", {"register_layers": swish_layer}))
    network = built([L("dense", 3, 3), L("tanh"), L("dense", 3, 3), L("swish")], (3,))
    with pytest.raises(nnframe.ExportError) as info:
        nnframe.onnx.to_model(network)
    assert " ".join(shown.split()) == f"nnframe: error: {info.value}"


def test_the_plugin_authors_converter_example_converts_its_swish():
    """docs/writing-plugins.md: its Swish layer and SwishConverter, as a plugin."""
    page = (DOCS_PAGE.parent / "writing-plugins.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    namespace: dict = {}
    for marker in ("class Swish(nnframe.Layer)", "class SwishConverter("):
        exec(next(block for block in blocks if marker in block), namespace)

    def register_converters(register):
        register("swish", namespace["SwishConverter"])

    use_plugins(("nnframe-swish", {"register_layers": namespace["register_layers"],
                                   "register_converters": register_converters}))
    network = built([L("dense", 3, 5), L("swish"), L("dense", 5, 2)], (3,))
    network.layers[1].params["beta"][...] = [0.5, 1.0, 2.0, -1.0, 0.1]
    assert_exports_faithfully(network)


def test_converters_load_and_pass_the_kit_without_onnx():
    """Plugins keep working where onnx is not installed: nothing but export needs it."""
    code = ("import sys; sys.modules['onnx'] = sys.modules['onnxruntime'] = None; "
            "from nnframe.cli import main; main(['check', 'dense', 'parallel'] + sys.argv[1:])")
    names = [name for name, module in [("conv2d", "nnframe_conv"), ("lstm", "nnframe_recurrent")]
             if importlib.util.find_spec(module) is not None]
    result = subprocess.run([sys.executable, "-c", code, *names], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{2 * (2 + len(names))} passed, 0 failed" in result.stdout
