"""Step 4: arrays, and undoing broadcasting in the backward pass (reference solution)."""

import numpy as np


def unbroadcast(g, shape):
    """Sum the adjoint ``g`` over the axes broadcasting added (leading ones) or stretched (size-1
    ones), giving an array of ``shape``: the derivative of copying is summing."""
    g = np.asarray(g, dtype=float)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)
