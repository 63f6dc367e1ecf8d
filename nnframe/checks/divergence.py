"""Where training diverged: the first layer whose forward or backward made NaN or infinity.

When the loss or the gradients stop being finite, the trainer asks these functions which
layer to name, so that the message blames a layer's bug rather than the learning rate
when a layer's backward is at fault.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from nnframe.core.registry import layer_label
from nnframe.errors import TrainingDivergedError

if TYPE_CHECKING:
    from nnframe.core.network import Network


def diverged(network: Network, loss: float, epoch: int, batch: int,
             snapshot: dict[str, np.ndarray], xb: np.ndarray) -> TrainingDivergedError:
    """The error for a loss that became NaN or infinite, naming the first layer whose
    outputs did; the weights are put back to ``snapshot`` if they are not finite. The
    run's position goes back to the start of the epoch: a model saved now resumes there."""
    network.train_state = network.train_state.at_epoch_start(epoch)
    kept = "the weights of the last finite step are kept"
    first = first_nonfinite_output(network, xb)  # where, while the weights are finite
    arrays = [p.value for p in network.parameters()] + list(network.state().values())
    if not all(np.isfinite(a).all() for a in arrays if np.asarray(a).dtype.kind == "f"):
        network.restore(snapshot)
        kept = "the weights and layer state from the start of this epoch were restored"
        first = None
    where = ""
    if first is not None:
        where = (f" ({first} is the first to give NaN or infinite outputs for this "
                 "batch, from finite inputs)")
    return TrainingDivergedError(
        f"the loss became {loss} at epoch {epoch + 1}, batch {batch + 1}{where}; {kept}. "
        f"Try a smaller learning rate (now {network.optimizer.learning_rate}), "
        "clip_norm, or scale the inputs")


def bad_gradients(network: Network, loss: float, epoch: int, batch: int
                  ) -> TrainingDivergedError:
    """The error for a finite loss with gradients that are not: it names the layer whose
    backward made them so (the weights are not updated), instead of blaming the
    learning rate. The run's position goes back to the start of the epoch."""
    network.train_state = network.train_state.at_epoch_start(epoch)
    which = first_nonfinite_backward(network) or "a layer's backward"
    return TrainingDivergedError(
        f"{which} gave NaN or infinite gradients at epoch {epoch + 1}, batch "
        f"{batch + 1}, although the loss ({loss:.6g}) and the gradient it was given were "
        "finite; the weights were not updated. This is a bug in that backward (or an "
        "overflow inside it), not a learning-rate problem: check it with "
        "nnframe.testing.check_layer")


def first_nonfinite_output(network: Network, x: np.ndarray) -> str | None:
    """The label of the first layer whose output for ``x`` is not finite though its input
    is (None if none is, or the forward fails)."""
    try:
        with np.errstate(all="ignore"):
            for index, layer in enumerate(network.layers):
                if not np.isfinite(x).all():
                    return None
                x = np.asarray(layer.forward(x, training=False))
                if x.dtype.kind == "f" and not np.isfinite(x).all():
                    return layer_label(index, layer)
    except Exception:  # a diagnosis only: the divergence is reported all the same
        return None
    return None


def first_nonfinite_backward(network: Network) -> str | None:
    """Run the last batch's backward again, layer by layer from the loss, and name the
    first whose parameter gradients or dE/dX are not finite for a finite dE/dY (the
    layers still hold that batch's forward)."""
    try:
        with np.errstate(all="ignore"):
            grad = np.asarray(network.loss.backward())
            if not np.isfinite(grad).all():
                return "the loss"
            for index in range(len(network.layers) - 1, -1, -1):
                layer = network.layers[index]
                grad = np.asarray(layer.backward(grad))
                params_finite = all(np.isfinite(g).all() for g in layer.grads.values())
                if not params_finite or not np.isfinite(grad).all():
                    return layer_label(index, layer)
    except Exception:  # a diagnosis only
        return None
    return None
