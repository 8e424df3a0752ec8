"""Recording operations: graph nodes and ``apply``.

When an operation runs on tensors that require a gradient, ``apply`` evaluates its primitive's
forward rule (``graph.py``), wraps the value in a new tensor and records in it how it was made,
the node linking it to its inputs (``_prim``, ``_args``, ``_kw``, ``_inputs``, ``_wanted``; ``Node``
in ``tensor.py`` describes them): what the backward pass walks in reverse (Fang et al., 2024,
parts one and two).

Why parents are a tuple in argument order (never a set): the backward pass and every trace or
picture of the graph must come out the same on every run.

Why ``apply`` looks hand-tuned: it runs once per operation, and on the small arrays of a model fit
its Python overhead, not numpy, is most of the cost (a tensor per operation, which is its own
node). So it is written out for one tensor (``apply_one``) and for two arguments
(``_two_arguments``), shares one empty options dict, and lets the node keep the arrays the forward
rule saw, which the backward pass hands straight to the vjp rules. When the same graph is evaluated thousands of times,
``tape.py`` removes the overhead altogether.

Primitives are passed in, never imported: ``graph.py`` (``Primitive``) imports this file.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.forward import propagate_tangent
from workbench.engine.mode import MODE
from workbench.engine.tensor import Tensor

if TYPE_CHECKING:
    from workbench.engine.graph import Primitive

_new_tensor = object.__new__   # skips Tensor.__init__
_weak = weakref.ref
_FLOAT64 = np.dtype(np.float64)   # numpy hands out this one object for native float64 arrays
_NDARRAY = np.ndarray


NO_OPTIONS: dict = {}   # shared empty ``kw`` for the operators, so no dict is made per operation


def apply(prim: Primitive, args: tuple, kw: dict = NO_OPTIONS):
    """Run ``prim`` on ``args``; record a node when any argument is a tensor needing a gradient.

    With no tensor among the arguments, the plain numpy result is returned: that is what lets
    the derivative rules run unchanged on arrays during an ordinary backward pass.

    A tensor alone without options goes to ``apply_one`` and two arguments without options to
    ``prim.apply_two``: this function written out for them, since they are nearly every call
    (the operators ``+ - * / ** @`` are such functions themselves). What reaches this body is a
    call with options, or with one argument that is no tensor.
    """
    n_args = len(args)
    if n_args == 1:
        x = args[0]
        has_tensor = isinstance(x, Tensor)
        if has_tensor:
            inputs = (x.data,)
            wants_grad = x.requires_grad
    elif n_args == 2 and not kw:
        return prim.apply_two(*args)
    else:
        tensors = [a for a in args if isinstance(a, Tensor)]
        has_tensor = bool(tensors)
        if has_tensor:
            inputs = tuple(a.data if isinstance(a, Tensor) else a for a in args)
            wants_grad = any(t.requires_grad for t in tensors)
    if not has_tensor:
        inputs = args    # arrays only: a derivative rule run by the backward pass
    try:
        out = prim.forward(*inputs, **kw) if kw else prim.forward(*inputs)
    except EngineError:
        raise
    except (ValueError, IndexError, TypeError) as err:
        raise EngineError(_describe_failure(prim, list(inputs), kw, err)) from None
    if not has_tensor:
        return out
    # numpy returns a scalar instead of a 0-d array, and a constant may carry another dtype
    if out.__class__ is not _NDARRAY or (out.dtype is not _FLOAT64 and out.dtype != _FLOAT64):
        out = np.asarray(out, dtype=np.float64)
    # object.__new__ skips Tensor.__init__, whose checks the data has already passed (the same
    # steps as in _two_arguments' apply_two)
    result = _new_tensor(Tensor)
    result.data = out
    result.grad = None
    result._tangent = None
    result.name = None
    if wants_grad and MODE.recording:
        result.requires_grad = True
        result._prim = prim   # how it was made: the result is its own node (tensor.py)
        result._args = args
        result._kw = kw
        result._inputs = inputs
        made = MODE.made
        if made is None:
            result._rec = result._wanted = None
        else:   # creation order is a topological order: the sweep needs no search
            result._rec, result._slot = made, len(made)
            made.append(_weak(result))   # weak: a result f drops unused is freed as before
            has_rule = prim.has_rule
            if n_args == 1 and x._rec is made and (has_rule is None or 0 in has_rule):   # the commonest
                result._wanted = ((0, x._slot, inputs[0].shape),)
            else:
                result._wanted = _wanted(args, inputs, has_rule, made)
    else:   # (``_rec`` too: a user may mark this result as requiring grad later)
        result.requires_grad = False
        result._prim = result._rec = None
    if MODE.forward:   # an int, so the usual case (no forward sweep running) costs one test
        propagate_tangent(prim, args, kw, result)
    return result


def apply_one(prim: Primitive, x: Tensor):
    """``apply(prim, (x,))`` for one tensor and no options (``sin(x)``, ``x.exp()``), written out as
    ``apply_two`` is for two: the commonest call that is not an operator."""
    data = x.data
    try:
        out = prim.forward(data)
    except EngineError:
        raise
    except (ValueError, IndexError, TypeError) as err:
        raise EngineError(_describe_failure(prim, [data], NO_OPTIONS, err)) from None
    if out.__class__ is not _NDARRAY or (out.dtype is not _FLOAT64 and out.dtype != _FLOAT64):
        out = np.asarray(out, dtype=np.float64)
    result = _new_tensor(Tensor)
    result.data = out
    result.grad = None
    result._tangent = None
    result.name = None
    if x.requires_grad and MODE.recording:
        result.requires_grad = True
        result._prim = prim
        result._args = (x,)
        result._kw = NO_OPTIONS
        result._inputs = (data,)
        made = MODE.made
        if made is None:
            result._rec = result._wanted = None
        else:
            result._rec, result._slot = made, len(made)
            made.append(_weak(result))
            has_rule = prim.has_rule
            if x._rec is made and (has_rule is None or 0 in has_rule):
                result._wanted = ((0, x._slot, data.shape),)
            else:
                result._wanted = _wanted(result._args, result._inputs, has_rule, made)
    else:
        result.requires_grad = False
        result._prim = result._rec = None
    if MODE.forward:
        propagate_tangent(prim, (x,), NO_OPTIONS, result)
    return result


def _two_arguments(prim: Primitive, swapped: bool = False):
    """``apply(prim, (a, b))`` written out for two arguments and no options: ``prim.apply_two``,
    and with ``swapped`` the reflected operator (``2.0 * x`` is ``x.__rmul__(2.0)``: mul(2.0, x)).

    The operators are functions made by this one (``Tensor.__mul__`` is ``_two_arguments(mul)``,
    ``methods.py``), so ``x * y`` costs one Python call: on a model's small arrays the calls, not
    numpy, are most of an operation's cost. The steps after the forward rule are ``apply``'s.
    """
    def apply_two(a, b):
        if swapped:
            a, b = b, a
        a_is_tensor = a.__class__ is Tensor
        b_is_tensor = b.__class__ is Tensor
        # a Python float beside a tensor is kept as a 0-d array: numpy takes ~150 ns longer over a
        # Python float on a small array, in this forward rule and again in the vjp rule that reads it
        x = a.data if a_is_tensor else np.array(a) if a.__class__ is float and b_is_tensor else a
        y = b.data if b_is_tensor else np.array(b) if b.__class__ is float and a_is_tensor else b
        try:
            out = prim.forward(x, y)
        except EngineError:
            raise
        except (ValueError, IndexError, TypeError) as err:
            raise EngineError(_describe_failure(prim, [x, y], NO_OPTIONS, err)) from None
        if not (a_is_tensor or b_is_tensor):   # arrays only: a derivative rule run by the backward pass
            return out
        if out.__class__ is not _NDARRAY or (out.dtype is not _FLOAT64 and out.dtype != _FLOAT64):
            out = np.asarray(out, dtype=np.float64)
        result = _new_tensor(Tensor)
        result.data = out
        result.grad = None
        result._tangent = None
        result.name = None
        a_wants = a_is_tensor and a.requires_grad
        b_wants = b_is_tensor and b.requires_grad
        if (a_wants or b_wants) and MODE.recording:
            result.requires_grad = True
            result._prim = prim      # one store at a time: cheaper than one
            result._args = (a, b)    # multiple assignment, which builds a tuple
            result._kw = NO_OPTIONS
            result._inputs = (x, y)
            made = MODE.made
            if made is None:
                result._rec = result._wanted = None
            else:   # _wanted, its commonest cases written out: both inputs, or one, recorded here
                result._rec, result._slot = made, len(made)
                made.append(_weak(result))
                if not prim.both_ruled:
                    result._wanted = _wanted(result._args, result._inputs, prim.has_rule, made)
                elif a_wants and a._rec is made:
                    if not b_wants:
                        result._wanted = ((0, a._slot, x.shape),)
                    elif b._rec is made:
                        result._wanted = ((0, a._slot, x.shape), (1, b._slot, y.shape))
                    else:
                        result._wanted = _wanted(result._args, result._inputs, prim.has_rule, made)
                elif not a_wants and b._rec is made:
                    result._wanted = ((1, b._slot, y.shape),)
                else:
                    result._wanted = _wanted(result._args, result._inputs, prim.has_rule, made)
        else:   # (``_rec`` too: a user may mark this result as requiring grad later)
            result.requires_grad = False
            result._prim = result._rec = None
        if MODE.forward:
            propagate_tangent(prim, (a, b), NO_OPTIONS, result)
        return result
    apply_two.__name__ = f"{prim.name}_swapped" if swapped else prim.name
    return apply_two


def _wanted(args: tuple, inputs: tuple, has_rule, made: list) -> tuple | None:
    """``Node.wanted`` for a result recorded into ``made``: (position, slot, shape) of each input that
    wants an adjoint and has a rule. An input made before f by the caller (a leaf that is no
    stand-in) needs no adjoint; one recorded elsewhere, with a graph of its own, makes it None."""
    if len(args) == 2 and (has_rule is None or len(has_rule) == 2):   # the commonest nodes, written out
        a, b = args
        wanted = ()
        if a.__class__ is Tensor and a.requires_grad:
            if a._rec is made:
                wanted = ((0, a._slot, inputs[0].shape),)
            elif a._prim is not None:
                return None
        if b.__class__ is Tensor and b.requires_grad:
            if b._rec is made:
                wanted += ((1, b._slot, inputs[1].shape),)
            elif b._prim is not None:
                return None
        return wanted
    wanted = []
    for position, arg in enumerate(args):
        if arg.__class__ is Tensor and arg.requires_grad:
            if arg._rec is not made:
                if arg._prim is not None:
                    return None
            elif has_rule is None or position in has_rule:
                wanted.append((position, arg._slot, inputs[position].shape))
    return tuple(wanted)


def _describe_failure(prim: Primitive, arrays: list, kw: dict, err: Exception) -> str:
    shapes = ", ".join(str(np.shape(a)) for a in arrays if not callable(a))
    options = "".join(f", {k}={v!r}" for k, v in kw.items() if not callable(v))
    return f"{prim.name}: cannot apply to shapes {shapes}{options}: {err}"


def data_of(value):
    """The numpy value of a tensor, or the value itself."""
    return value.data if isinstance(value, Tensor) else value
