"""The core of nnframe: what a learner reads to understand the whole framework.

In reading order: `contracts` (what a layer, loss, optimizer... is), `kinds` (the table of
component kinds), `hookspecs` (how plugins register components), `registry` (finding and
building components by name), `network` (the model) and `training` (the loop). The core
imports no built-in component: layers, losses and the rest are plugins it finds by name.
"""
