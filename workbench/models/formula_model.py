"""A model written as a formula: ``units ~ a * price**b + c``.

Names in the formula that are data columns are inputs; every other name is a parameter. The
formula is parsed by ``workbench.formula`` (never evaluated by Python) and run with the engine's
functions as its operations, so the fit gets exact derivatives of exactly what the user wrote.
"""

from __future__ import annotations

from typing import Mapping, Sequence


from workbench.errors import InputError
from workbench.models.base import Model, ParamInfo


class FormulaModel(Model):
    def __init__(self, formula, columns_available: Sequence[str], inits: Mapping[str, float]):
        from workbench import engine

        available = set(columns_available)
        inputs = tuple(n for n in formula.names if n in available)
        param_names = tuple(n for n in formula.names if n not in available)
        from workbench.errors import did_you_mean

        for name in param_names:
            # A backticked name is a column by intent (and cannot be a parameter's name).
            if f"`{name}`" in formula.text or not name.isidentifier():
                raise InputError(f"column {name!r} not found in the data{did_you_mean(name, columns_available)}",
                                 where="model.formula")
        if formula.target not in available:
            raise InputError(f"target column {formula.target!r} not found in the data"
                             f"{did_you_mean(formula.target, columns_available)}", where="model.formula")
        if formula.target in inputs:
            raise InputError(f"the target {formula.target!r} also appears on the right-hand side",
                             where="model.formula")
        if not param_names:
            raise InputError("the formula has no parameters to fit: every name is a data column",
                             where="model.formula")
        _refuse_unused_params(inits, param_names, available)
        notes = []
        params = []
        offsets = additive_offsets(formula.expr, param_names)
        for name in param_names:
            if name in inits and inits[name] is not None:
                init = float(inits[name])
            else:
                init = 1.0
                notes.append(f"parameter {name!r} is not listed under params; it starts at 1.0")
            params.append(ParamInfo(name, (), init, offset=name in offsets))
        super().__init__(kind="formula", target=formula.target, inputs=inputs,
                         params=tuple(params), notes=notes,
                         linear_in_params=parameter_degree(formula.expr, param_names) <= 1)
        self.formula = formula
        self._compiled = formula.compile(engine)

    def forward(self, params, columns):
        env = dict(columns)
        env.update(params)
        return self._compiled(env)

    def describe(self) -> str:
        return f"{self.target} ~ {self.formula.to_string()}"


def _refuse_unused_params(inits: Mapping[str, float], param_names: Sequence[str], columns: set) -> None:
    """A ``params`` entry the formula does not use would be silently ignored: name every one."""
    from workbench.errors import did_you_mean

    unused = [name for name in inits if name not in param_names]
    if not unused:
        return
    reasons = [f"{name!r} is a data column, not a parameter" if name in columns else
               f"{name!r} is not in the formula{did_you_mean(name, param_names)}" for name in unused]
    raise InputError(f"{'; '.join(reasons)}; the formula's parameters are {', '.join(param_names)}",
                     where="params." + unused[0] if len(unused) == 1 else "params")


def additive_offsets(expr, param_names: Sequence[str]) -> set[str]:
    """Parameters that enter the formula once, as a bare term of its top-level sum: ``c`` in
    ``a * exp(-b * x) + c`` or ``c - a * x``. They shift every prediction by the same amount,
    like an intercept, so regularization leaves them alone."""
    from workbench.formula.ir import Binary, Name, Unary, children

    terms, stack = [], [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Binary) and node.op in ("+", "-"):
            stack += [node.left, node.right]
        else:
            terms.append(node.operand if isinstance(node, Unary) and node.op == "-" else node)
    counts: dict[str, int] = {}
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            counts[node.name] = counts.get(node.name, 0) + 1
        stack += list(children(node))
    return {t.name for t in terms if isinstance(t, Name) and t.name in param_names and counts[t.name] == 1}


NONLINEAR = 2


def parameter_degree(node, param_names: Sequence[str]) -> int:
    """The degree of ``node`` as a polynomial in the parameters, capped at 2 (``NONLINEAR``):
    0 for data and constants, 1 for ``a*x + b*log(x) + c`` (linear in its parameters: the
    closed-form least-squares solve applies), 2 for anything else (``b`` in ``exp(-b*x)``, ``a*b``,
    ``x / a``, ``a**2``)."""
    from workbench.formula.ir import Binary, Const, Name, Unary, children

    if isinstance(node, Const):
        return 0
    if isinstance(node, Name):
        return int(node.name in param_names)
    if isinstance(node, Unary) and node.op == "-":
        return parameter_degree(node.operand, param_names)
    if isinstance(node, Binary):
        left, right = parameter_degree(node.left, param_names), parameter_degree(node.right, param_names)
        if node.op in ("+", "-"):
            return max(left, right)
        if node.op == "*":
            return min(left + right, NONLINEAR)
        if node.op == "/":
            return left if right == 0 else NONLINEAR
        if node.op == "**":
            plain_power = right == 0 and isinstance(node.right, Const) and node.right.value == 1.0
            return 0 if left == right == 0 else (left if plain_power else NONLINEAR)
    # a function call, comparison or anything else: linear only when it holds no parameter
    return 0 if all(parameter_degree(c, param_names) == 0 for c in children(node)) else NONLINEAR
