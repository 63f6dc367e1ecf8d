"""Built-in optimizers; registered by `nnframe.builtin_plugin`."""
