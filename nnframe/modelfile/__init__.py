"""Model files: one ``.npz`` per network, written atomically, read without pickle.

`save` turns a network into arrays and JSON (`format` says what a file holds), `load`
rebuilds it by registered names and checks every array, `npz` reads and writes the
archive safely, `atomic` and `regular_files` make writing and reading files safe,
`roundtrip` checks that a component's config rebuilds it, and `resume` checks that a
checkpoint fits the configuration a run would continue with.
"""
