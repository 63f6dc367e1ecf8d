"""Checking what users give: arguments (`arguments`), input arrays (`inputs`), and each
layer's shapes and dtypes on the first batch of training (`layers`), each with an error
that says what was wrong, where, and what to do."""
