"""A parameter's meaning in plain words, for the report's "meaning" column: only what is true of it.

``report.describe: {b: price elasticity}`` always wins. Otherwise the meaning is read off the
model where its structure says it, and a parameter whose role the structure does not pin down
gets no meaning rather than a guess.

A built-in model knows its parameters (a linear model's ``coef_price`` is the change of the
target per additional 1 of price; a power model's exponent is the elasticity of the target).

A formula is read term by term, with each term's sign, and a parameter is described only when it
appears exactly once in the formula:

* a parameter added on its own is a constant term (subtracted, when it comes after a minus);
* ``b * price``, where price appears in no other term, is the change (or with a minus, the
  decrease) of the target per additional 1 of price; where price appears elsewhere too, ``b`` is
  only the coefficient of price in that term;
* in ``a * price ** b``, ``b`` is the elasticity of the target (the % change per 1% more price)
  only when that power term is the whole prediction; next to other terms it is the exponent of
  price in the a·price^b term, since the elasticity of the target then depends on the other terms;
* when the formula is a logit (a 0/1 target fitted with cross-entropy on logits), constants and
  slopes are those of the log-odds, and nothing is called an elasticity.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.report.text import unit_suffix

BUILTIN = {   # model type -> parameter -> (catalog key, fields); "{x}" is the input, "{p}" a parameter
    "exponential": {"a": ("meaning.term_at_zero", {"term": "a·exp(b·{x})"}),
                    "b": ("meaning.rate", {"term": "a·exp(b·{x})"}), "c": ("meaning.constant", {})},
    "power": {"a": ("meaning.at_one", {}), "b": ("meaning.elasticity", {})},
    "gaussian": {"amplitude": ("meaning.peak_height", {}), "center": ("meaning.peak_center", {}),
                 "sigma": ("meaning.peak_width", {}), "offset": ("meaning.far_level", {})},
    "michaelis_menten": {"vmax": ("meaning.vmax", {}), "km": ("meaning.half_point", {})},
}

Role = tuple[str, dict]


def _builtin(kind: str, inputs, name: str) -> Role | None:
    if kind in ("linear", "logistic"):
        prefix = "meaning.log_odds_" if kind == "logistic" else "meaning."
        if name == "intercept":
            return prefix + "baseline", {}
        if name.startswith("coef_") and name[5:] in inputs:
            return prefix + "slope", {"column": name[5:]}
        return None
    if kind == "polynomial" and name[:1] == "c" and name[1:].isdigit():
        k = int(name[1:])
        return ("meaning.baseline", {}) if k == 0 else ("meaning.power_term", {"column": inputs[0], "k": k})
    entry = BUILTIN.get(kind, {}).get(name)
    if entry is None or not inputs:
        return None
    key, fields = entry
    return key, {"column": inputs[0], **{k: v.format(x=inputs[0]) for k, v in fields.items()}}


# ---- formulas -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Term:
    sign: int                   # +1 or -1: how the term enters the prediction
    factors: tuple              # the factors of a product (a lone node is one factor)


def _terms(node, ir, sign: int = 1) -> list[_Term]:
    """The additive terms of an expression, each with its sign (a - b counts b with sign -1)."""
    if isinstance(node, ir.Binary) and node.op in ("+", "-"):
        return _terms(node.left, ir, sign) + _terms(node.right, ir, sign if node.op == "+" else -sign)
    if isinstance(node, ir.Unary) and node.op == "-":
        return _terms(node.operand, ir, -sign)
    term_sign, factors = _factors(node, ir)
    return [_Term(sign * term_sign, tuple(factors))]


def _factors(node, ir) -> tuple[int, list]:
    if isinstance(node, ir.Binary) and node.op == "*":
        left_sign, left = _factors(node.left, ir)
        right_sign, right = _factors(node.right, ir)
        return left_sign * right_sign, left + right
    if isinstance(node, ir.Unary) and node.op == "-":
        sign, factors = _factors(node.operand, ir)
        return -sign, factors
    return 1, [node]


def _name_counts(node, ir, counts: dict[str, int]) -> dict[str, int]:
    """How often each name occurs anywhere in the expression."""
    if isinstance(node, ir.Name):
        counts[node.name] = counts.get(node.name, 0) + 1
    for child in _children(node, ir):
        _name_counts(child, ir, counts)
    return counts


def _children(node, ir) -> tuple:
    if isinstance(node, ir.Unary):
        return (node.operand,)
    if isinstance(node, ir.Binary):
        return (node.left, node.right)
    if isinstance(node, ir.Call):
        return tuple(node.args)
    if isinstance(node, (ir.Compare, ir.BoolOp)):
        return tuple(node.operands)
    if isinstance(node, ir.Member):
        return (node.operand,)
    return ()


class _Reader:
    """The roles of a formula's parameters (see the module docstring)."""

    def __init__(self, formula_text: str, inputs, logit: bool):
        from workbench.formula import ir, parse_formula

        self.ir = ir
        expr = parse_formula(formula_text).expr
        self.terms = _terms(expr, ir)
        self.counts = _name_counts(expr, ir, {})
        self.columns = set(inputs)
        self.logit = logit

    def param(self, node) -> bool:
        return isinstance(node, self.ir.Name) and node.name not in self.columns

    def once(self, name: str | None) -> bool:
        """A parameter described by one term must appear nowhere else."""
        return name is not None and self.counts.get(name) == 1

    def column(self, node) -> bool:
        return isinstance(node, self.ir.Name) and node.name in self.columns

    def power(self, node) -> bool:
        return (isinstance(node, self.ir.Binary) and node.op == "**" and self.column(node.left)
                and self.param(node.right))

    def roles(self) -> dict[str, Role]:
        roles: dict[str, Role] = {}
        for term in self.terms:
            roles.update({name: role for name, role in self._term_roles(term).items() if self.once(name)})
        return roles

    def _term_roles(self, term: _Term) -> dict[str, Role]:
        factors = term.factors
        params = [f for f in factors if self.param(f)]
        if len(factors) == 1 and params:
            key = "meaning.log_odds_constant" if self.logit else (
                "meaning.constant" if term.sign > 0 else "meaning.constant_subtracted")
            return {} if self.logit and term.sign < 0 else {params[0].name: (key, {})}
        columns = [f for f in factors if self.column(f)]
        powers = [f for f in factors if self.power(f)]
        if len(factors) == 2 and len(params) == 1 and len(columns) == 1:
            return self._slope(term, params[0].name, columns[0].name)
        if len(powers) == 1 and len(params) <= 1 and len(factors) == len(params) + 1:
            return self._power(term, powers[0], params[0].name if params else None)
        return {}

    def _slope(self, term: _Term, param: str, column: str) -> dict[str, Role]:
        fields = {"column": column}
        if self.counts[column] > 1:
            return {param: ("meaning.coefficient", {**fields, "term": f"{param}·{column}"})}
        if self.logit:
            return {param: ("meaning.log_odds_slope", fields)} if term.sign > 0 else {}
        return {param: ("meaning.slope" if term.sign > 0 else "meaning.slope_negated", fields)}

    def _power(self, term: _Term, power, scale: str | None) -> dict[str, Role]:
        column, exponent = power.left.name, power.right.name
        whole = len(self.terms) == 1 and not self.logit
        term_text = f"{scale}·{column}^{exponent}" if scale else f"{column}^{exponent}"
        roles = {exponent: ("meaning.elasticity", {"column": column}) if whole else
                 ("meaning.exponent", {"column": column, "term": term_text})}
        if scale is not None:
            roles[scale] = (("meaning.at_one", {"column": column}) if whole and term.sign > 0 else
                            ("meaning.multiplier", {"column": column, "power": f"{column}^{exponent}"}))
        return roles


def parameter_meanings(names, *, tr, target: str, kind: str | None, inputs, formula: str | None = None,
                       describe: dict | None = None, units: dict | None = None,
                       logit: bool = False) -> dict[str, str]:
    """name -> plain words, for the parameters whose meaning is known.

    ``logit``: the model's output is the log-odds of a 0/1 target (cross-entropy on logits).
    """
    units, describe = units or {}, describe or {}
    roles = {}
    if formula:
        try:
            roles = _Reader(formula, inputs, logit).roles()
        except Exception:  # noqa: BLE001 - a meaning is a courtesy; the table stands without it
            roles = {}
    out = {}
    for name in names:
        if name in describe:
            out[name] = str(describe[name])
            continue
        role = roles.get(name) if formula else _builtin(kind or "", tuple(inputs), name)
        if role is not None:
            key, fields = role
            column = fields.get("column", "")
            out[name] = tr(key, **{"target": target, "unit": unit_suffix(units.get(column), tr), **fields})
    return out
