"""workbench.engine: a reverse- and forward-mode automatic-differentiation engine over numpy.

Read it in this order (``docs/engine.md`` walks through the same path):

* ``tensor.py``      the ``Tensor``: a float64 array, ``requires_grad``, ``grad``; once recorded, its own graph node
* ``graph.py``       ``Primitive``: an operation's forward rule beside its vjp and jvp rules
* ``recording.py``  ``apply``: evaluate, keep the value, record in the result how it was made
* ``registry.py``    one registration per operation: names, methods, formula functions, the sheet
* ``prims_math.py``  elementwise primitives, each forward beside its vjp and jvp rule
* ``prims_reduce.py`` reductions (sum, max, logsumexp...) and what is built from them
* ``prims_shape.py`` reshaping, indexing, concatenation, matrix products; ``unbroadcast``
* ``pullback.py``    the one backward loop: the graph flattened into steps, adjoints pulled back
* ``backward.py``    ``Tensor.backward`` and ``backprop`` around that loop
* ``forward.py``     forward mode (dual numbers): ``jvp`` and forward Jacobians
* ``transforms.py``  ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``, ``hvp``
* ``checkpoint.py``  recompute instead of store
* ``tape.py``        record once, replay without rebuilding the graph (store instead of rebuild)
* ``gradcheck.py``, ``trace.py``, ``dot.py``, ``text.py``: checking derivatives and seeing the graph

This package is a leaf: it imports numpy and nothing else of the workbench.

Usage::

    from workbench import engine as ad
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.sum(ad.exp(x) * x)
    y.backward()
    x.grad            # (1 + x)·eˣ
"""

from workbench.engine import methods as _methods
from workbench.engine import prims_math as _prims_math, prims_reduce as _prims_reduce, prims_shape as _prims_shape
from workbench.engine.backward import backprop, topological_order
from workbench.engine.checkpoint import checkpoint
from workbench.engine.dot import to_dot
from workbench.engine.errors import EngineError
from workbench.engine.forward import forward_jacobian, forward_jacobians, jvp
from workbench.engine.gradcheck import GradcheckReport, check_nodes, gradcheck
from workbench.engine.graph import Primitive
from workbench.engine.recording import apply
from workbench.engine.mode import enable_grad, is_recording, no_grad
from workbench.engine.registry import REGISTRY, Check, formula_functions, formula_sheet, primitive, register
from workbench.engine.tape import Tape, record
from workbench.engine.tensor import Node, Tensor
from workbench.engine.trace import Trace, trace
from workbench.engine.transforms import grad, hessian, hvp, jacobian, value_and_grad

_methods.install()

# The operations (exp, sum, matmul, ...) are not listed here: each is registered where it is
# defined (registry.py), and the registry gives this namespace its names.
globals().update({entry.name: entry.function for entry in REGISTRY.values()})

__all__ = [
    "record", "Tape",
    "Tensor", "EngineError", "Primitive", "Node", "apply", "no_grad", "enable_grad", "is_recording",
    "backprop", "topological_order", "checkpoint", "jvp", "forward_jacobian", "forward_jacobians",
    "grad", "value_and_grad", "jacobian", "hessian", "hvp",
    "gradcheck", "check_nodes", "GradcheckReport",
    "trace", "Trace", "to_dot",
    "primitive", "register", "Check", "REGISTRY", "formula_functions", "formula_sheet",
    *REGISTRY,
]
