"""The plugin module the entry point names: it registers the kernels lazily, so that
listing them imports neither the compiled code nor numba. The layer kernels are
registered where the plugin that owns the layer (and declares the kernel) is installed.
"""

from __future__ import annotations

import importlib.util

from nnframe import hookimpl

#: layer kernel -> the package whose layer runs it (and which declares it); the LSTM's
#: and the GRU's forward steps are not among them: numba's scalar exp and tanh lose to
#: NumPy's (README)
LAYER_KERNELS = {
    "maxpool2d_backward": "nnframe_conv",
    "im2col": "nnframe_conv",
    "col2im": "nnframe_conv",
    "lstm_backward_gates": "nnframe_recurrent",
    "gru_backward_gates": "nnframe_recurrent",
}


@hookimpl
def register_kernels(register) -> None:
    for name in ("adam_step", "adamw_step", "sgd_step", "rmsprop_step"):
        register(name, f"nnframe_numba.optimizers:{name}")
    for name, owner in LAYER_KERNELS.items():
        if importlib.util.find_spec(owner) is not None:
            register(name, f"nnframe_numba.layers:{name}")
