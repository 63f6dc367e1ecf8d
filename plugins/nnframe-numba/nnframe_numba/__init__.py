"""nnframe-numba: compiled kernels for nnframe's optimizers, with numba.

Installed, it registers ``adam_step``, ``adamw_step``, ``sgd_step`` and ``rmsprop_step``
through nnframe's ``register_kernels`` hook (entry point group ``nnframe``): one fused
loop over the parameters in place of NumPy's dozen passes. nnframe uses them after they
pass its check against the NumPy references (``NNFRAME_KERNELS=reference`` turns them
off). Neither this package nor numba is imported until the first optimizer step.
"""

from nnframe_numba._version import __version__

__all__ = ["__version__"]
