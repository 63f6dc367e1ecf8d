"""The plugin module the entry point names: it registers the kernels lazily, so that
listing them imports neither the compiled code nor numba."""

from __future__ import annotations

from nnframe import hookimpl


@hookimpl
def register_kernels(register) -> None:
    for name in ("adam_step", "adamw_step", "sgd_step", "rmsprop_step"):
        register(name, f"nnframe_numba.optimizers:{name}")
