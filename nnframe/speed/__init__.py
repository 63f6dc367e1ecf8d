"""Speed machinery, opt-in from the components that use it; the core stays plain NumPy.

`kernels`: named hot operations (an optimizer's update) with a NumPy reference and faster
versions plugins register; `blocked`: the optimizers' update rules walked in cache-sized
blocks; `parallel`: element-wise work split over threads while a core is free;
`blas_threads`: NumPy's BLAS threads during training; `workspace`: a layer's scratch arrays
kept between batches.
"""
