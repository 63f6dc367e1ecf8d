"""A tiny third-party plugin for nnframe: one learnable element-wise affine layer."""
