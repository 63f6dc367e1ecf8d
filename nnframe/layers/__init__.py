"""Built-in layers, one module each; registered by `nnframe.builtin_plugin`."""
