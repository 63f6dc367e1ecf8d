"""The core of nnframe, in reading order: `contracts` (what each kind of component is),
`kinds`, `hookspecs` (how plugins register components), `registry` (finding and building
them by name), `parameters`, `network` (the model) and `training` (the loop). It imports
no built-in component: layers, losses and the rest are plugins it finds by name.
"""
