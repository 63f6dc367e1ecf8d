"""The plugin module the entry point names: it registers the kernels lazily, so that
listing them imports neither the compiled code nor numba. The layer kernels are
registered where the plugin that owns the layer (and declares the kernel) is installed.
"""

from __future__ import annotations

import importlib.util

from nnframe import hookimpl

#: layer kernel -> (the package whose layer runs it and declares it, this plugin's module
#: that has it)
LAYER_KERNELS = {
    "maxpool2d_backward": ("nnframe_conv", "conv"),
    "im2col": ("nnframe_conv", "conv"),
    "col2im": ("nnframe_conv", "conv"),
    "lstm_forward_gates": ("nnframe_recurrent", "recurrent"),
    "lstm_backward_gates": ("nnframe_recurrent", "recurrent"),
    "gru_forward_gates": ("nnframe_recurrent", "recurrent"),
    "gru_backward_gates": ("nnframe_recurrent", "recurrent"),
}


@hookimpl
def register_kernels(register) -> None:
    for name in ("adam_step", "adamw_step", "sgd_step", "rmsprop_step"):
        register(name, f"nnframe_numba.optimizers:{name}")
    for name, (owner, module) in LAYER_KERNELS.items():
        if importlib.util.find_spec(owner) is not None:
            register(name, f"nnframe_numba.{module}:{name}")
