"""How many of PyTorch's own test-suite configurations nnframe can express.

PyTorch tests its modules on the configurations listed in
``torch/testing/_internal/common_modules.py`` (``module_db``: one case per ModuleInput),
``common_nn.py`` (``module_tests``, ``get_new_module_tests()``, ``criterion_tests``: one
case per entry) and ``common_optimizers.py`` (``optim_db``: one case per OptimizerInput).
This script takes the cases of the modules nnframe has (`MODULES`), builds each torch
module (or reads the optimizer's arguments) and classifies the case:

- ``expressible``: every option it uses maps onto an installed nnframe component and an
  argument that component accepts (checked on the registry, so the count follows the
  code it runs against);
- ``needs``: it maps, but onto an argument or component nnframe does not have here;
- ``out``: it uses something nnframe does not model (a packed sequence, ``proj_size``,
  ``ceil_mode``, complex numbers, ...), each with its reason.

Layout differences are not options: channels-first vs channels-last, ``batch_first``, an
unbatched input (a batch of one), ``num_layers`` (stacked layers), ``inplace`` and an
optimizer's ``foreach``/``fused``/``capturable``/``differentiable`` implementation flags.

Run ``python -m benchmarks.torch_cases [--list]`` with torch (and its test
helper ``expecttest``) installed; nothing here is a test or runtime dependency.
"""

from __future__ import annotations

import argparse
import inspect
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import attrs

#: torch module -> how its cases are classified (a function below)
MODULES: dict[str, str] = {}

#: Capabilities nnframe has that no constructor signature shows, as (kind, component,
#: <capability>); each is compared with PyTorch in the option tests
#: (tests/test_loss_options.py, tests/test_layer_options.py).
CAPABILITIES = {
    ("loss", "cross_entropy", "<K-dim>"), ("loss", "cross_entropy", "<probabilities>"),
    ("layer", "batch_norm", "<momentum=None>"), ("layer", "layer_norm", "<several axes>"),
}

Need = tuple[str, str, "str | None"]


@attrs.frozen
class Case:
    """One configuration of PyTorch's suite and what nnframe makes of it."""

    source: str  #: common_modules, common_nn or common_optimizers
    module: str  #: the torch class
    name: str  #: its description in the suite
    status: str  #: expressible, needs or out
    reason: str = ""


class Out(Exception):
    """A case nnframe does not model, with the reason."""


def supported(need: Need) -> bool:
    """Whether nnframe has the component (and the argument or capability) here."""
    import nnframe

    kind, name, argument = need
    try:
        component = nnframe.get_registry().get(kind, name)
    except Exception:
        return False
    if argument is None:
        return True
    if argument.startswith("<"):
        return need in CAPABILITIES  # a capability no signature can show
    try:
        return argument in inspect.signature(component.factory).parameters
    except (TypeError, ValueError):
        return False


def classify(module: str, needs: Callable[[], list[Need]], source: str, name: str) -> Case:
    try:
        wanted = needs()
    except Out as reason:
        return Case(source, module, name, "out", str(reason))
    missing = [need for need in wanted if not supported(need)]
    if missing:
        shown = ", ".join(f"{n}{'.' + a if a else ''}" for _, n, a in missing)
        return Case(source, module, name, "needs", shown)
    return Case(source, module, name, "expressible")


# -- the rules, one per kind of torch module ----------------------------------------------


def _layer(name: str, *arguments: str) -> list[Need]:
    return [("layer", name, None), *(("layer", name, a) for a in arguments)]


def conv(module: Any, inputs: list[Any]) -> list[Need]:
    if module.transposed:
        raise Out("transposed convolution")
    if inputs and inputs[0].is_complex():
        raise Out("complex numbers")
    name = "conv1d" if module.__class__.__name__ == "Conv1d" else "conv2d"
    arguments = []
    if module.groups != 1:
        arguments.append("groups")
    if any(d != 1 for d in module.dilation):
        arguments.append("dilation")
    if module.padding_mode != "zeros":
        arguments.append("padding_mode")
    if module.bias is None:
        arguments.append("use_bias")
    return _layer(name, "padding", *arguments)


def pool(module: Any, inputs: list[Any]) -> list[Need]:
    kind = module.__class__.__name__
    if getattr(module, "ceil_mode", False):
        raise Out("ceil_mode (a last partial window kept)")
    if getattr(module, "return_indices", False):
        raise Out("return_indices (a second output)")
    if kind.startswith("Adaptive"):
        if module.output_size in (1, (1, 1)):  # and a flatten
            return _layer("global_avg_pool" if "Avg" in kind else "global_max_pool")
        return _layer("adaptive_avg_pool2d" if "Avg" in kind else "adaptive_max_pool2d")
    name = "maxpool2d" if kind == "MaxPool2d" else "avgpool2d"
    arguments = ["padding"]
    if kind == "MaxPool2d" and module.dilation not in (1, (1, 1)):
        arguments.append("dilation")
    if kind == "AvgPool2d" and not module.count_include_pad:
        arguments.append("count_include_pad")
    if kind == "AvgPool2d" and module.divisor_override:
        arguments.append("divisor_override")
    return _layer(name, *arguments)


def recurrent(module: Any, inputs: list[Any]) -> list[Need]:
    import torch

    kind = module.__class__.__name__.lower()
    if inputs and not isinstance(inputs[0], torch.Tensor):
        raise Out("a packed sequence input")
    if getattr(module, "proj_size", 0):
        raise Out("proj_size (projected lstm states)")
    arguments = []
    if not module.bias:
        arguments.append("use_bias")
    if module.bidirectional:
        arguments.append("bidirectional")
    if kind == "rnn" and module.nonlinearity != "tanh":
        arguments.append("nonlinearity")
    if len(inputs) > 1:
        states = inputs[1] if isinstance(inputs[1], tuple) else (inputs[1],)
        if inputs[0].dim() == 3 and states[0].shape[1] > 1:
            raise Out("a different initial state per sample (a second input)")
        arguments.append("initial_state")  # one h0 for the batch: learned / set
    needs = _layer(kind, *arguments)
    if module.num_layers > 1 and module.dropout:
        needs.append(("layer", "dropout", None))
    return needs


def linear(module: Any, inputs: list[Any]) -> list[Need]:
    return _layer("dense", *(["use_bias"] if module.bias is None else []))


def batch_norm(module: Any, inputs: list[Any]) -> list[Need]:
    needs = _layer("batch_norm")
    if not module.affine:
        needs.append(("layer", "batch_norm", "affine"))
    if not module.track_running_stats:
        needs.append(("layer", "batch_norm", "track_running_stats"))
    if module.momentum is None:
        needs.append(("layer", "batch_norm", "<momentum=None>"))
    return needs


def layer_norm(module: Any, inputs: list[Any]) -> list[Need]:
    needs = _layer("layer_norm")
    if len(module.normalized_shape) > 1:
        needs.append(("layer", "layer_norm", "<several axes>"))
    if not module.elementwise_affine:
        needs.append(("layer", "layer_norm", "elementwise_affine"))
    elif getattr(module, "bias", True) is None:
        raise Out("layer_norm with a scale but no shift (bias=False)")
    return needs


def embedding(module: Any, inputs: list[Any]) -> list[Need]:
    if module.padding_idx is not None:
        raise Out("padding_idx")
    if module.max_norm is not None or module.sparse or module.scale_grad_by_freq:
        raise Out("max_norm / sparse / scale_grad_by_freq")
    return _layer("embedding")


def activation(name: str, **checks: Callable[[Any], str | None]) -> Callable[..., list[Need]]:
    """An activation layer; each check gives the argument the module's value needs."""
    def rule(module: Any, inputs: list[Any]) -> list[Need]:
        arguments = [a for a in (check(module) for check in checks.values()) if a]
        return _layer(name, *arguments)
    return rule


def softmax(name: str) -> Callable[..., list[Need]]:
    def rule(module: Any, inputs: list[Any]) -> list[Need]:
        dim = module.dim
        ndim = inputs[0].dim() if inputs else 2
        channels = 1 if ndim > 2 else ndim - 1  # channels-first: the class axis is 1
        if dim is None or dim % max(ndim, 1) in (channels, ndim - 1):
            return _layer(name)  # nnframe's last axis is torch's class/channel axis
        return _layer(name, "axis")
    return rule


def loss(name: str, default_beta: str | None = None) -> Callable[..., list[Need]]:
    def rule(module: Any, inputs: list[Any]) -> list[Need]:
        if any(getattr(t, "is_complex", lambda: False)() for t in inputs):
            raise Out("complex numbers")
        needs = [("loss", name, None)]
        if module.reduction != "mean":
            needs.append(("loss", name, "reduction"))
        if getattr(module, "weight", None) is not None:
            needs.append(("loss", name, "weight"))
        if getattr(module, "pos_weight", None) is not None:
            raise Out("pos_weight")
        if getattr(module, "ignore_index", -100) != -100:
            needs.append(("loss", name, "ignore_index"))
        if getattr(module, "label_smoothing", 0.0):
            needs.append(("loss", name, "label_smoothing"))
        if name == "cross_entropy" and len(inputs) > 1:
            if inputs[1].is_floating_point():
                needs.append(("loss", name, "<probabilities>"))
            if inputs[0].dim() > 2:
                needs.append(("loss", name, "<K-dim>"))
        if default_beta and getattr(module, default_beta) != 1.0:
            needs.append(("loss", name, default_beta))
        return needs
    return rule


RULES: dict[str, Callable[..., list[Need]]] = {
    "Conv1d": conv, "Conv2d": conv, "MaxPool2d": pool, "AvgPool2d": pool,
    "AdaptiveAvgPool2d": pool, "AdaptiveMaxPool2d": pool,
    "RNN": recurrent, "LSTM": recurrent, "GRU": recurrent,
    "Linear": linear, "BatchNorm1d": batch_norm, "BatchNorm2d": batch_norm,
    "LayerNorm": layer_norm, "Embedding": embedding,
    "ReLU": activation("relu"), "Tanh": activation("tanh"), "Sigmoid": activation("sigmoid"),
    "LeakyReLU": activation("leaky_relu"),
    "GELU": activation("gelu", approximate=lambda m: "approximate"
                       if m.approximate != "none" else None),
    "SiLU": activation("silu"),
    "ELU": activation("elu", alpha=lambda m: "alpha" if m.alpha != 1.0 else None),
    "Softplus": activation("softplus",
                           beta=lambda m: "beta" if m.beta != 1.0 else None,
                           threshold=lambda m: "threshold" if m.threshold != 20.0 else None),
    "Hardsigmoid": activation("hard_sigmoid"), "Flatten": activation("flatten"),
    "Softmax": softmax("softmax"), "LogSoftmax": softmax("log_softmax"),
    "MSELoss": loss("mse"), "L1Loss": loss("mae"), "HuberLoss": loss("huber"),
    "SmoothL1Loss": loss("smooth_l1", "beta"), "CrossEntropyLoss": loss("cross_entropy"),
    "BCEWithLogitsLoss": loss("binary_cross_entropy"),
}
MODULES.update({name: rule.__name__ for name, rule in RULES.items()})

OPTIMIZERS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adamw", "RMSprop": "rmsprop"}
#: implementation flags of torch's optimizers, not options
IMPLEMENTATION = {"foreach", "fused", "capturable", "differentiable"}
#: torch's optimizer argument -> nnframe's
RENAMED = {"lr": "learning_rate"}
#: the default of each option torch's suite varies: a case at the default needs nothing
DEFAULTS = {"weight_decay": 0.0, "momentum": 0.0, "dampening": 0.0, "nesterov": False,
            "maximize": False, "amsgrad": False, "centered": False, "alpha": 0.99,
            "eps": 1e-8}


def optimizer_needs(optimizer: str, kwargs: dict[str, Any]) -> list[Need]:
    name = OPTIMIZERS[optimizer]
    needs: list[Need] = [("optimizer", name, None)]
    for key, value in kwargs.items():
        if key in IMPLEMENTATION:
            continue
        if key == "betas":
            needs += [("optimizer", name, "beta1"), ("optimizer", name, "beta2")]
            continue
        if key == "weight_decay" and name == "adamw":
            needs.append(("optimizer", name, key))
            continue
        if key in DEFAULTS and _equal(value, DEFAULTS[key]):
            continue
        needs.append(("optimizer", name, RENAMED.get(key, key)))
    return needs


def _equal(value: Any, default: Any) -> bool:
    try:
        return bool(value == default)
    except Exception:
        return False


# -- reading PyTorch's suite ---------------------------------------------------------------


def _module_db_cases() -> Iterator[Case]:
    import torch
    from torch.testing._internal import common_modules

    for info in common_modules.module_db:
        kind = info.module_cls.__name__
        if kind not in RULES:
            continue
        samples = info.module_inputs_func(info, device="cpu", dtype=torch.float64,
                                          requires_grad=False, training=True)
        for sample in samples:
            inputs = list(sample.forward_input.args)

            def needs(sample=sample, inputs=inputs, kind=kind, info=info) -> list[Need]:
                module = info.module_cls(*sample.constructor_input.args,
                                         **sample.constructor_input.kwargs)
                return RULES[kind](module, inputs)

            yield classify(kind, needs, "common_modules",
                           sample.desc or str(sample.constructor_input.kwargs))


def _common_nn_name(test: dict[str, Any]) -> str:
    if test.get("module_name"):
        return test["module_name"]
    constructor = test.get("constructor")
    named = getattr(constructor, "__name__", "")
    if named in RULES:
        return named
    return test.get("fullname", "").split("_")[0]


#: common_nn's functional entries (FunctionalModule), by the start of their name
FUNCTIONAL = {"softmax": "Softmax", "log": "LogSoftmax"}


def _common_nn_cases() -> Iterator[Case]:
    import torch
    from torch.testing._internal import common_nn

    tests = [*common_nn.module_tests, *common_nn.get_new_module_tests(),
             *common_nn.criterion_tests]
    for test in tests:
        fullname = test.get("fullname") or test.get("desc") or ""
        kind = _common_nn_name(test)
        functional = getattr(test.get("constructor"), "__name__", "") == "FunctionalModule"
        if functional and fullname.startswith(("softmax", "log_softmax")):
            yield _functional_softmax(test, fullname)
            continue
        if kind not in RULES:
            continue
        if functional:
            yield classify(kind, lambda f=fullname: _functional_loss(f),
                           "common_nn", fullname)
            continue

        def needs(test=test, kind=kind) -> list[Need]:
            constructor = test.get("constructor") or getattr(torch.nn, kind)
            module = constructor(*test.get("constructor_args", ()))
            inputs = _inputs(test, torch)
            return RULES[kind](module, inputs)

        yield classify(kind, needs, "common_nn", fullname or kind)


def _inputs(test: dict[str, Any], torch: Any) -> list[Any]:
    if "input_fn" in test:
        made = test["input_fn"]()
    elif "input_size" in test:
        made = torch.randn(test["input_size"], dtype=torch.float64)
    else:
        return []
    inputs = list(made) if isinstance(made, tuple) else [made]
    if "target_fn" in test:
        inputs.append(test["target_fn"]())
    return inputs


def _functional_softmax(test: dict[str, Any], fullname: str) -> Case:
    kind = "LogSoftmax" if fullname.startswith("log") else "Softmax"
    name = "log_softmax" if kind == "LogSoftmax" else "softmax"
    size = test.get("input_size")
    options = test.get("cpp_options_args", "")
    dim = int(options.split("(")[1].split(")")[0]) if "(" in options else -1
    ndim = len(size) if size else 0

    def needs() -> list[Need]:
        if "dtype" in fullname:
            raise Out("a dtype argument (the output in another precision)")
        if ndim < 2:
            raise Out("a scalar input")
        channels = 1 if ndim > 2 else ndim - 1
        if dim % ndim in (channels, ndim - 1):
            return _layer(name)
        return _layer(name, "axis")

    return classify(kind, needs, "common_nn", fullname)


def _functional_loss(fullname: str) -> list[Need]:
    """common_nn's *_no_reduce functional losses: reduction='none', perhaps more."""
    kind = fullname.split("_")[0]
    name = {"MSELoss": "mse", "L1Loss": "mae", "SmoothL1Loss": "smooth_l1",
            "HuberLoss": "huber", "BCEWithLogitsLoss": "binary_cross_entropy",
            "CrossEntropyLoss": "cross_entropy"}[kind]
    if "complex" in fullname:
        raise Out("complex numbers")
    needs: list[Need] = [("loss", name, None)]
    if "no_reduce" in fullname or fullname.endswith(("_none", "_sum")):
        needs.append(("loss", name, "reduction"))
    if "beta" in fullname:
        needs.append(("loss", name, "beta"))
    if "delta" in fullname:
        needs.append(("loss", name, "delta"))
    if "legacy_enum" in fullname:
        needs.append(("loss", name, "reduction"))
    return needs


def _optimizer_cases() -> Iterator[Case]:
    import torch
    from torch.testing._internal import common_optimizers

    for info in common_optimizers.optim_db:
        kind = info.optim_cls.__name__
        if kind not in OPTIMIZERS:
            continue
        for optim_input in info.optim_inputs_func(device="cpu", dtype=torch.float64):
            yield classify(kind, lambda k=kind, o=optim_input: optimizer_needs(k, o.kwargs),
                           "common_optimizers", optim_input.desc)


def cases() -> list[Case]:
    """Every case of PyTorch's suite for the modules nnframe has, classified."""
    return [*_module_db_cases(), *_common_nn_cases(),
            *_optimizer_cases()]


def summary(found: list[Case]) -> str:
    counts = Counter(case.status for case in found)
    total = len(found)
    lines = [f"{total} cases: {counts['expressible']} expressible "
             f"({100 * counts['expressible'] / max(total, 1):.1f}%), {counts['needs']} need "
             f"an argument nnframe lacks here, {counts['out']} out of scope"]
    by_module = Counter((case.module, case.status) for case in found)
    for module in sorted({case.module for case in found}):
        parts = ", ".join(f"{status} {by_module[(module, status)]}"
                          for status in ("expressible", "needs", "out")
                          if by_module[(module, status)])
        lines.append(f"  {module:18} {parts}")
    for status in ("needs", "out"):
        reasons = Counter(case.reason for case in found if case.status == status)
        if reasons:
            lines.append(f"{status}:")
            lines += [f"  {count:4}  {reason}" for reason, count in reasons.most_common()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print every case")
    arguments = parser.parse_args(argv)
    found = cases()
    if arguments.list:
        for case in found:
            print(f"{case.status:11} {case.source:17} {case.module:18} {case.name}"
                  f"{'  (' + case.reason + ')' if case.reason else ''}")
    print(summary(found))


if __name__ == "__main__":
    main()
