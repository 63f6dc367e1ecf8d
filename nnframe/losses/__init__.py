"""Built-in losses; registered by `nnframe.builtin_plugin`."""
