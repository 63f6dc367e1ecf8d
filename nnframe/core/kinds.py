"""The one table of component kinds: everything that can be registered by a plugin.

The registry, the hook specifications, the command line (``list``, ``show``, ``check``),
config files, model files and the plugin author's kit all read this table, so adding a
kind of component is one entry here (and its contract in `nnframe.core.contracts`).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Kind:
    """One kind of component: its names, what it is, and how the kit checks it."""

    name: str
    """Singular, as in ``nnframe.layer(...)`` and model files: ``"layer"``."""
    plural: str
    """As in the hook ``register_layers`` and ``nnframe list layers``."""
    description: str
    """One line for the hook's documentation."""
    example: str
    """A registered name to show in messages: ``"dense"``."""
    check: str | None = None
    """``"module:function"`` of the kit's check for this kind, or None: the kit's
    generic check (it builds, and its config rebuilds it)."""
    members: tuple[str, ...] = ()
    """The members every component of this kind has (its protocol's), checked on every
    component a factory builds, so that a broken factory is named at once."""
    alternatives: bool = False
    """Whether plugins provide other versions of the core's names on purpose (kernels):
    then a name shared with the built-in is no conflict to warn about."""

    @property
    def hook(self) -> str:
        """The name of the hook that registers this kind: ``register_layers``."""
        return f"register_{self.plural}"


KINDS: tuple[Kind, ...] = (
    Kind("layer", "layers", "network building blocks with forward and backward", "dense",
         "nnframe.testing.layers:check_layer",
         ("build", "output_shape", "forward", "backward", "params", "grads", "get_config")),
    Kind("loss", "losses", "training objectives that give dE/dY for the last layer", "mse",
         "nnframe.testing.losses:check_loss", ("forward", "backward", "get_config")),
    Kind("optimizer", "optimizers", "update rules that change parameters from gradients",
         "sgd", "nnframe.testing.optimizers:check_optimizer",
         ("learning_rate", "step", "state_dict", "load_state_dict", "get_config")),
    Kind("initializer", "initializers", "how a layer's weights are drawn at build",
         "glorot_uniform", "nnframe.testing.initializers:check_initializer",
         ("__call__", "get_config")),
    Kind("metric", "metrics", "scores reported during training and evaluation", "accuracy",
         "nnframe.testing.metrics:check_metric",
         ("name", "higher_is_better", "reset", "update", "result", "get_config")),
    Kind("schedule", "schedules", "learning rate as a function of the training step",
         "cosine", "nnframe.testing.schedules:check_schedule",
         ("start", "rate", "get_config")),
    Kind("callback", "callbacks", "code run at points of training (stop early, save, log)",
         "early_stopping", None,
         ("set_network", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
          "on_batch_end")),
    Kind("dataset", "datasets", "named data sets that configs and the CLI can train on",
         "mnist_sample", None, ("name", "sample_shape", "sizes", "num_classes", "load")),
    Kind("converter", "converters", "turn a layer into ONNX nodes, for nnframe export",
         "dense", None, ("convert", "get_config")),
    Kind("kernel", "kernels", "faster versions of nnframe's named hot operations (the "
         "update of each optimizer), used in place of the NumPy reference", "adam_step",
         "nnframe.testing.kernels:check_kernel", alternatives=True),
)
"""Every kind, in the order of the hooks and of ``nnframe list``."""

KIND_NAMES: tuple[str, ...] = tuple(kind.name for kind in KINDS)
"""The singular names: ``("layer", "loss", ..., "dataset")``."""
_BY_NAME = {kind.name: kind for kind in KINDS} | {kind.plural: kind for kind in KINDS}


def kind(name: str) -> Kind:
    """The kind called ``name`` (singular or plural); `ValueError` naming the kinds if none."""
    found = _BY_NAME.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(f"unknown kind of component {name!r}; the kinds are "
                         f"{', '.join(KIND_NAMES)}")
    return found


def by_hook(hook: str) -> Kind | None:
    """The kind a hook registers (``register_layers``: layer), or None for other names."""
    return next((k for k in KINDS if k.hook == hook), None)
