"""Function transforms: ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``hvp``.

They turn a function of tensors into a function that returns its derivatives, the way a
mathematician writes ∇f or ∇²f. The function ``f`` takes tensors and uses the engine's operators
and functions.

Two promises:
* Given numpy arrays (or numbers) they return numpy arrays; given tensors they return
  differentiable tensors, so transforms compose: ``grad(grad(f))``, ``hessian = jacobian(grad)``.
* They are idempotent: nothing accumulates in ``.grad`` and calling twice gives the same answer,
  because each call differentiates with respect to fresh stand-ins for the arguments and asks
  the backward pass for those stand-ins' adjoints alone (``backprop(stop_at=...)``).
"""

from __future__ import annotations

import gc
from typing import Callable, Sequence

import numpy as np

from workbench.engine.backward import adjoints_of, owned_gradients
from workbench.engine.errors import EngineError
from workbench.engine.forward import forward_jacobian, jvp
from workbench.engine.mode import MODE
from workbench.engine.prims_reduce import sum as _sum
from workbench.engine.prims_shape import identity, stack, reshape
from workbench.engine.tensor import Tensor, as_float_array, leaf


_new_tensor = object.__new__
_array = np.array


def _stand_in(value) -> Tensor:
    """A tensor that requires grad and stands for ``value`` (connected to it if it has a graph)."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            return identity(value)
        stand = Tensor(value.data, requires_grad=True)
        stand._tangent = value._tangent
        return stand
    return leaf(as_float_array(value, "grad"), requires_grad=True)


def _argnums(argnums, n_args: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -n_args <= i < n_args:
            raise EngineError(f"grad: argnums {i} is out of range for {n_args} arguments")
    return tuple(i % n_args for i in nums)


def _differentiate(f: Callable, args: tuple, nums: tuple[int, ...]):
    """Evaluate f with stand-ins at ``nums``; return (output, stand-ins, differentiable?, what f
    recorded: ``MODE.made``, the stand-ins' slots first, then a weak reference to each tensor f
    recorded, in order of creation)."""
    differentiable = False
    call_args = list(args)
    stand_ins = []
    # the stand-ins take the first slots of the recording; each result f records takes the next
    made: list = [None] * len(nums)
    for slot, i in enumerate(nums):
        value = args[i]
        if value.__class__ is float:   # a model's scalar parameter, the commonest: leaf(), written out
            stand = _new_tensor(Tensor)
            stand.data, stand.requires_grad = _array(value), True
            stand.grad = stand._prim = stand._tangent = stand.name = None
        else:
            differentiable = differentiable or isinstance(value, Tensor)
            stand = _stand_in(value)
        call_args[i] = stand
        stand._rec, stand._slot = made, slot
        stand_ins.append(stand)
    # enable_grad(), without a context object per call; and the recording list, so the backward
    # pass walks it instead of searching the graph. A transform inside another's f records into a
    # list of its own: the outer one meets those tensors as recorded elsewhere, and searches.
    saved, MODE.recording = MODE.recording, True
    outer, MODE.made = MODE.made, made
    MODE.begun = begun = MODE.begun + 1
    # The cycle collector is paused while f records, as for the sweep (backward.py): every operation
    # makes a tensor, a node and tuples, and the collections they trigger walk the whole growing graph,
    # free of cycles, to find nothing. Cycles f itself makes are collected once it returns.
    collecting = gc.isenabled()
    if collecting:
        gc.disable()
    try:
        out = f(*call_args)
    finally:
        if collecting:
            gc.enable()
        MODE.recording, MODE.made = saved, outer
    if MODE.begun != begun:
        # A transform or a backward pass ran inside f: it may have taken tensors of this recording
        # as its stand-ins (new slots, in its own list) or released their nodes, so the list no
        # longer describes the graph, and the sweep searches it, as for a graph recorded elsewhere.
        made = None
    return out, stand_ins, differentiable, made


def _scalar_output(out, who: str) -> Tensor:
    if not isinstance(out, Tensor):
        out = Tensor(out)
    if out.data.size != 1:
        raise EngineError(f"{who}: f must return a scalar, got shape {out.shape}; use jacobian for vector outputs")
    return out


def _adjoints(out: Tensor, stand_ins: list, differentiable: bool, made: list, seed=None,
              retain: bool = False) -> list:
    if not out.requires_grad:
        zeros = [np.zeros_like(s.data) for s in stand_ins]
        return [Tensor(z) for z in zeros] if differentiable else zeros
    found = adjoints_of(out, stand_ins, seed, retain_graph=differentiable or retain,
                        create_graph=differentiable, made=made)
    if not differentiable:   # arrays: owned_gradients makes each one an array the caller owns
        return owned_gradients([np.zeros_like(s.data) if g is None else g for s, g in zip(stand_ins, found)])
    grads = []
    for s, g in zip(stand_ins, found):
        if g is None:
            g = np.zeros_like(s.data)
        grads.append(g if isinstance(g, Tensor) else Tensor(g))
    return grads


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """``(f(*args), ∂f/∂args[argnums])`` for a scalar-valued ``f``, in one forward and one backward pass."""
    numbered: dict[int, tuple[int, ...]] = {}   # argnums for each number of arguments seen

    def value_and_grad_f(*args):
        nums = numbered.get(len(args))
        if nums is None:
            nums = numbered[len(args)] = _argnums(argnums, len(args))
        # paused from recording to the end of the sweep: resumed in between, the collector would
        # walk the whole graph just recorded, all of it alive
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            out, stand_ins, differentiable, made = _differentiate(f, args, nums)
            out = _scalar_output(out, "grad")
            grads = _adjoints(out, stand_ins, differentiable, made)
        finally:
            if collecting:
                gc.enable()
        value = out if differentiable else out.data.item()   # (one element: _scalar_output checked)
        return value, (grads[0] if isinstance(argnums, int) else tuple(grads))
    return value_and_grad_f


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """∇f: the gradient of a scalar-valued ``f`` with respect to ``args[argnums]``."""
    vg = value_and_grad(f, argnums)

    def grad_f(*args):
        return vg(*args)[1]
    return grad_f


def _reverse_jacobian(f, args, num):
    """One forward pass, then one backward pass per output element (each a row of ∂f/∂x)."""
    out, (stand,), differentiable, made = _differentiate(f, args, (num,))
    if not isinstance(out, Tensor):
        out = Tensor(out)
    shape = out.shape + stand.shape
    rows = []
    for k in range(out.data.size):
        seed = np.zeros(out.data.size)
        seed[k] = 1.0
        rows.append(_adjoints(out, [stand], differentiable, made, seed=seed.reshape(out.shape),
                              retain=True)[0])
    if not rows:
        return np.zeros(shape)
    if differentiable:
        return reshape(stack(rows), shape)
    return np.stack(rows).reshape(shape)


def jacobian(f: Callable, argnums: int = 0, mode: str = "auto") -> Callable:
    """∂f/∂x as an array of shape f(x).shape + x.shape.

    ``mode="auto"`` picks forward mode when x has no more elements than f(x) (one sweep for all
    columns) and reverse mode otherwise (one backward pass per output). Tensor arguments always go
    through reverse mode, which keeps the result differentiable.
    """
    if mode not in ("auto", "forward", "reverse"):
        raise EngineError(f"jacobian: mode must be 'auto', 'forward' or 'reverse', got {mode!r}")

    def jacobian_f(*args):
        num = _argnums(argnums, len(args))[0]
        if isinstance(args[num], Tensor) or mode == "reverse":
            return _reverse_jacobian(f, args, num)
        x = as_float_array(args[num], "jacobian")

        def f_of_x(x_tensor):
            call = list(args)
            call[num] = x_tensor
            return f(*call)
        if mode == "forward":
            return forward_jacobian(f_of_x, x)[1]
        value = f_of_x(Tensor(x))
        n_out = np.size(value.data if isinstance(value, Tensor) else value)
        if x.size <= n_out:
            return forward_jacobian(f_of_x, x)[1]
        return _reverse_jacobian(f, args, num)
    return jacobian_f


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """∇²f = the Jacobian of the gradient (forward-over-reverse for arrays)."""
    return jacobian(grad(f, argnums), argnums)


def hvp(f: Callable, argnums: int = 0) -> Callable:
    """``hvp(f)(x, v)`` = ∇²f(x)·v without forming the Hessian.

    For arrays: one forward sweep (tangent v) through the recorded gradient computation
    (forward-over-reverse), costing a small multiple of one gradient. For tensors: the gradient
    of ⟨∇f(x), v⟩ (reverse-over-reverse), which stays differentiable.
    """
    gradient = grad(f, argnums)

    def hvp_f(x, v):
        if isinstance(x, Tensor) or isinstance(v, Tensor):
            return grad(lambda y: _sum(gradient(y) * v))(x)
        return jvp(gradient, (x,), (v,))[1]
    return hvp_f
