"""Reference derivatives for the engine tests, computed without the engine's backward pass.

The numerical derivative here is the five-point stencil
    f'(x) ≈ (−f(x+2h) + 8·f(x+h) − 8·f(x−h) + f(x−2h)) / 12h      (error O(h⁴)),
written independently of ``workbench.engine.gradcheck`` so that a bug there cannot hide a bug in
the engine. With h = 1e-3·max(1, |x|) it is accurate to about 1e-9 relative on smooth functions,
so the tests can hold the engine to 1e-6.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from workbench import engine as ad


def plain(fn: Callable, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """fn evaluated on tensors that record nothing, as a float64 array."""
    with ad.no_grad():
        out = fn(*[ad.Tensor(a) for a in arrays])
    return np.asarray(out.data if isinstance(out, ad.Tensor) else out, dtype=np.float64)


def numeric_grad(scalar: Callable[[list[np.ndarray]], float], arrays: Sequence[np.ndarray],
                 index: int) -> np.ndarray:
    """∂ scalar(arrays) / ∂ arrays[index], element by element, by the five-point stencil."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    x = arrays[index]
    out = np.zeros(x.shape)
    for flat in range(x.size):
        h = 1e-3 * max(1.0, abs(float(x.flat[flat])))
        values = []
        for step in (2.0, 1.0, -1.0, -2.0):
            moved = list(arrays)
            moved[index] = x.copy()
            moved[index].flat[flat] += step * h
            values.append(scalar(moved))
        out.flat[flat] = (-values[0] + 8.0 * values[1] - 8.0 * values[2] + values[3]) / (12.0 * h)
    return out


def numeric_vjp(fn: Callable, arrays: Sequence[np.ndarray], cotangent: np.ndarray) -> list[np.ndarray]:
    """The gradient of Σ cotangent·fn(*arrays) with respect to each array, numerically."""
    def scalar(xs):
        return float(np.sum(cotangent * plain(fn, xs)))
    return [numeric_grad(scalar, arrays, i) for i in range(len(arrays))]


def engine_vjp(fn: Callable, arrays: Sequence[np.ndarray], cotangent: np.ndarray):
    """(fn(*arrays), [∂ Σ cotangent·fn / ∂ array_i]) by the engine's backward pass."""
    leaves = [ad.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*leaves)
    out.backward(np.broadcast_to(cotangent, out.shape).copy())
    grads = [np.zeros(leaf.shape) if leaf.grad is None else np.asarray(leaf.grad) for leaf in leaves]
    return out.data, grads


def numeric_jvp(fn: Callable, arrays: Sequence[np.ndarray], tangents: Sequence[np.ndarray],
                h: float = 1e-3) -> np.ndarray:
    """J·t: the derivative of fn along the direction ``tangents``, by the five-point stencil."""
    def at(step):
        return plain(fn, [np.asarray(a, dtype=np.float64) + step * h * t for a, t in zip(arrays, tangents)])
    return (-at(2.0) + 8.0 * at(1.0) - 8.0 * at(-1.0) + at(-2.0)) / (12.0 * h)
