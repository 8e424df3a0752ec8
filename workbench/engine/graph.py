"""Primitives: an operation's value, its derivative rules and its name, side by side.

This is the first half of reverse mode (Fang et al., 2024, parts one and two): an operation that
runs on tensors requiring a gradient is evaluated, its value kept, and a node recorded that links
the result to its inputs (``recording.py``). The backward pass (``backward.py``, ``pullback.py``)
later walks these links in reverse, asking each node's primitive for its rules.

A ``Primitive`` bundles an operation's three rules in one place:

* ``forward(*arrays, **kw)``: the value, computed with numpy;
* ``vjp[i](g, ans, *inputs, **kw)``: the vector-Jacobian product for input ``i``: given the
  adjoint ``g`` = ∂L/∂ans, return ∂L/∂input_i = gᵀ·∂ans/∂input_i;
* ``jvp[i](t, ans, *inputs, **kw)``: the Jacobian-vector product for input ``i``: given the
  tangent ``t`` of input i, its contribution ∂ans/∂input_i·t to the tangent of ``ans``.

The rules are written with operators and engine functions, so the same line works on plain numpy
arrays (the fast, usual case) and on tensors (``create_graph=True``, when the backward pass is
itself recorded to get higher derivatives).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from workbench.engine.errors import EngineError
from workbench.engine.recording import NO_OPTIONS, _two_arguments, apply, apply_one
from workbench.engine.tensor import Tensor


class Primitive:
    """An operation with its forward rule and its derivative rules side by side.

    ``linear``: the operation is linear in its inputs, so its Jacobian is the same everywhere and
    its rules read only the inputs' shapes, never their values. ``reads``: which values the other
    rules read besides the adjoint or tangent: ``"all"`` (the safe default), ``"inputs"`` or
    ``"output"`` (eˣ's rule needs eˣ, not x). A recorded tape (``tape.py``) frees every value no
    later rule reads, as soon as the forward sweep is done with it. ``math`` is the rule as a line
    of the formula sheet (``y = eˣ  |  x̄ = ḡ·y``).

    The rules may be given one per input (``vjp``, ``jvp``: a tuple, None where an input has no
    derivative) or as one call for all inputs (``vjp_all``, ``jvp_all``: shared work, such as
    concatenate's slicing). Whichever form was given is normalised once, here, into the two
    methods a sweep calls for any primitive (the backward loop's fast lane calls ``vjps`` directly
    for the commonest steps, below):

    * ``shares(g, ans, inputs, kw, wanted)``: the vjp shares ∂L/∂input for the inputs at the
      positions ``wanted[k][0]``, in that order (not yet summed back over broadcast axes);
    * ``tangent_terms(tangents, ans, inputs, kw)``: (position, ∂ans/∂input · tangent) for each
      input whose tangent is not None (``forward.py`` adds them up).

    ``vjps`` is the tuple of rules when they were given one per input (None for ``vjp_all``): the
    backward loop calls them directly for the commonest step, one without options or hook.

    ``has_rule`` is the set of positions with a vjp rule (None: every position), so a sweep
    never asks for the adjoint of an input without one (``where``'s condition); ``both_ruled``
    says that both inputs of a two-argument call have one (the operators' fast path).
    """

    __slots__ = ("name", "forward", "_vjp", "_jvp", "_vjp_all", "_jvp_all", "elementwise", "linear",
                 "reads", "doc", "math", "shares", "has_rule", "both_ruled", "vjps", "apply_two")

    def __init__(self, name: str, forward: Callable, vjp=None, jvp=None, *, vjp_all=None,
                 jvp_all=None, elementwise: bool = False, linear: bool = False, reads: str = "all",
                 doc: str | None = None, math: str | None = None):
        if reads not in ("all", "inputs", "output"):
            raise ValueError(f"Primitive {name}: reads must be 'all', 'inputs' or 'output', got {reads!r}")
        self.name = name
        self.forward = forward
        self._vjp = self._jvp = self._vjp_all = self._jvp_all = None
        self.vjp, self.jvp, self.vjp_all, self.jvp_all = vjp, jvp, vjp_all, jvp_all
        self.elementwise = elementwise
        self.linear = linear
        self.reads = reads
        self.doc = doc
        self.math = math
        self.apply_two = _two_arguments(self)

    # Setting a rule (also later, as a test that counts calls does) renormalises ``shares``.
    @property
    def vjp(self):
        return self._vjp

    @vjp.setter
    def vjp(self, rules) -> None:
        self._vjp = rules if rules is None or isinstance(rules, tuple) else (rules,)
        self._normalise()

    @property
    def vjp_all(self):
        return self._vjp_all

    @vjp_all.setter
    def vjp_all(self, rule) -> None:
        self._vjp_all = rule
        self._normalise()

    @property
    def jvp(self):
        return self._jvp

    @jvp.setter
    def jvp(self, rules) -> None:
        self._jvp = rules if rules is None or isinstance(rules, tuple) else (rules,)

    @property
    def jvp_all(self):
        return self._jvp_all

    @jvp_all.setter
    def jvp_all(self, rule) -> None:
        self._jvp_all = rule

    def _normalise(self) -> None:
        if self._vjp_all is not None:
            self.shares, self.has_rule = _shares_from_one_rule(self._vjp_all), None
            self.vjps = None
        else:
            rules = self._vjp or ()
            self.shares = _shares_from_rules(rules)
            self.has_rule = frozenset(i for i, rule in enumerate(rules) if rule is not None)
            self.vjps = rules
        self.both_ruled = self.has_rule is None or {0, 1} <= self.has_rule

    def tangent_terms(self, tangents, ans, inputs, kw) -> list:
        """(position, jvp term) for each input with a tangent; see the class docstring."""
        if self._jvp_all is not None:
            return [(None, self._jvp_all(tangents, ans, *inputs, **kw))]
        if self._jvp is None:
            raise EngineError(f"jvp: {self.name} has no forward-mode rule")
        rules = self._jvp
        return [(i, rules[i](t, ans, *inputs, **kw)) for i, t in enumerate(tangents)
                if t is not None and i < len(rules) and rules[i] is not None]

    def __call__(self, *args, **kw):
        if kw:
            return apply(self, args, kw)
        if len(args) == 1:
            x = args[0]
            if x.__class__ is np.ndarray:
                # an array alone: a rule (sin's ḡ·cos x) run by the backward pass; nothing to record
                try:
                    return self.forward(x)
                except (ValueError, IndexError, TypeError):
                    pass   # apply runs it again and names the failure
            elif x.__class__ is Tensor:
                return apply_one(self, x)
        elif len(args) == 2:
            return self.apply_two(*args)
        return apply(self, args, NO_OPTIONS)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def passes(g, ans, *inputs):
    """x̄ = ḡ: the adjoint passes to the input unchanged (both terms of a sum, identity). The
    backward loop knows this rule and hands ḡ on without calling it."""
    return g


def _shares_from_rules(rules: tuple):
    """``shares`` for one vjp rule per input. The commonest calls (one or two inputs wanted, no
    options) go without building a list or a keyword dict: this runs once per backward step."""
    def shares(g, ans, inputs, kw, wanted):
        if kw:
            return [rules[w[0]](g, ans, *inputs, **kw) for w in wanted]
        n_wanted = len(wanted)
        if n_wanted == 1:
            return (rules[wanted[0][0]](g, ans, *inputs),)
        if n_wanted == 2:
            return rules[wanted[0][0]](g, ans, *inputs), rules[wanted[1][0]](g, ans, *inputs)
        return [rules[w[0]](g, ans, *inputs) for w in wanted]
    return shares


def _shares_from_one_rule(rule):
    """``shares`` for a rule giving every input's adjoint in one call."""
    def shares(g, ans, inputs, kw, wanted):
        every = rule(g, ans, *inputs, **kw)
        return [every[w[0]] for w in wanted]
    return shares
