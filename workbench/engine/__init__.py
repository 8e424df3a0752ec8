"""workbench.engine: a reverse- and forward-mode automatic-differentiation engine over numpy.

Read it in this order (``docs/engine.md`` walks through the same path):

* ``tensor.py``      the ``Tensor``: a float64 array, ``requires_grad``, ``grad``, its graph node
* ``graph.py``       ``Primitive`` and ``apply``: evaluate, keep the value, record the node
* ``prims_math.py``  elementwise primitives, each forward beside its vjp and jvp rule
* ``prims_reduce.py`` reductions (sum, max, logsumexp...) and what is built from them
* ``prims_shape.py`` reshaping, indexing, concatenation, matrix products; ``unbroadcast``
* ``backward.py``    the backward pass: iterative topological order, accumulation, release
* ``forward.py``     forward mode (dual numbers): ``jvp`` and forward Jacobians
* ``transforms.py``  ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``hvp``
* ``checkpoint.py``  recompute instead of store
* ``tape.py``        record once, replay without rebuilding the graph (store instead of rebuild)
* ``gradcheck.py``, ``trace.py``, ``dot.py``: checking derivatives and seeing the graph

This package is a leaf: it imports numpy and nothing else of the workbench.

Usage::

    from workbench import engine as ad
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.sum(ad.exp(x) * x)
    y.backward()
    x.grad            # (1 + x)·eˣ
"""

from workbench.engine import methods as _methods
from workbench.engine.backward import backprop, topological_order
from workbench.engine.checkpoint import checkpoint
from workbench.engine.dot import to_dot
from workbench.engine.errors import EngineError
from workbench.engine.forward import forward_jacobian, forward_jacobians, jvp
from workbench.engine.gradcheck import GradcheckReport, check_nodes, gradcheck
from workbench.engine.graph import Node, Primitive, apply
from workbench.engine.mode import enable_grad, is_recording, no_grad
from workbench.engine.prims_math import (abs, add, arccos, arcsin, arctan, arctan2, clip, cos, cosh, div,
                                         exp, expm1, log, log1p, maximum, minimum, mul, neg, pow, relu,
                                         sigmoid, sin, sinh, softplus, sqrt, square, sub, tan, tanh,
                                         where)
from workbench.engine.prims_reduce import (log_softmax, logsumexp, max, mean, min, prod, softmax, std,
                                           sum, var)
from workbench.engine.prims_shape import (broadcast_to, concatenate, dot, expand_dims, getitem, matmul,
                                          reshape, squeeze, stack, transpose, unbroadcast)
from workbench.engine.tape import Tape, record
from workbench.engine.tensor import Tensor
from workbench.engine.trace import Trace, trace
from workbench.engine.transforms import grad, hessian, hvp, jacobian, value_and_grad

_methods.install()

__all__ = [
    "record", "Tape",
    "Tensor", "EngineError", "Primitive", "Node", "apply", "no_grad", "enable_grad", "is_recording",
    "backprop", "topological_order", "checkpoint", "jvp", "forward_jacobian", "forward_jacobians",
    "grad", "value_and_grad", "jacobian", "hessian", "hvp", "unbroadcast",
    "gradcheck", "check_nodes", "GradcheckReport",
    "trace", "Trace", "to_dot",
    "abs", "add", "arccos", "arcsin", "arctan", "arctan2", "clip", "cos", "cosh", "div", "exp", "expm1",
    "log", "log1p", "maximum", "minimum", "mul", "neg", "pow", "relu", "sigmoid", "sin", "sinh",
    "softplus", "sqrt", "square", "sub", "tan", "tanh", "where",
    "log_softmax", "logsumexp", "max", "mean", "min", "prod", "softmax", "std", "sum", "var",
    "broadcast_to", "concatenate", "dot", "expand_dims", "getitem", "matmul", "reshape", "squeeze",
    "stack", "transpose",
]
