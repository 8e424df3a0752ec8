"""A parameter's meaning in plain words, for the report's "meaning" column.

``report.describe: {b: price elasticity}`` always wins. Otherwise the meaning is read off the
model where its structure says it: a built-in model knows its parameters (a linear model's
``coef_price`` is the change of the target per additional 1 of price), and a formula is read
term by term: a parameter added on its own is the baseline level, ``b * price`` is a slope,
and the exponent in ``a * price ** b`` is the elasticity (the % change of that term per 1% more
price). A parameter whose role the structure does not tell gets no meaning rather than a guess.
"""

from __future__ import annotations

from workbench.report.text import unit_suffix

BUILTIN = {   # model type -> parameter -> (catalog key, which input it refers to)
    "exponential": {"a": ("meaning.scale", 0), "b": ("meaning.rate", 0), "c": ("meaning.constant", 0)},
    "power": {"a": ("meaning.scale", 0), "b": ("meaning.elasticity", 0)},
    "gaussian": {"amplitude": ("meaning.peak_height", 0), "center": ("meaning.peak_center", 0),
                 "sigma": ("meaning.peak_width", 0), "offset": ("meaning.constant", 0)},
    "michaelis_menten": {"vmax": ("meaning.vmax", 0), "km": ("meaning.half_point", 0)},
}


def _builtin(kind: str, inputs, name: str) -> tuple[str, dict] | None:
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
    return (entry[0], {"column": inputs[entry[1]]}) if entry and inputs else None


def _terms(node, ir):
    """The additive terms of an expression (a - b counts b as a term)."""
    if isinstance(node, ir.Binary) and node.op in ("+", "-"):
        return _terms(node.left, ir) + _terms(node.right, ir)
    if isinstance(node, ir.Unary) and node.op == "-":
        return _terms(node.operand, ir)
    return [node]


def _factors(node, ir):
    if isinstance(node, ir.Binary) and node.op == "*":
        return _factors(node.left, ir) + _factors(node.right, ir)
    if isinstance(node, ir.Unary) and node.op == "-":
        return _factors(node.operand, ir)
    return [node]


def _formula_roles(formula_text: str, inputs) -> dict[str, tuple[str, dict]]:
    from workbench.formula import ir, parse_formula

    roles: dict[str, tuple[str, dict]] = {}
    columns = set(inputs)
    is_param = lambda n: isinstance(n, ir.Name) and n.name not in columns        # noqa: E731
    is_column = lambda n: isinstance(n, ir.Name) and n.name in columns           # noqa: E731
    for term in _terms(parse_formula(formula_text).expr, ir):
        if is_param(term):
            roles.setdefault(term.name, ("meaning.constant", {}))
            continue
        factors = _factors(term, ir)
        params = [f for f in factors if is_param(f)]
        powers = [f for f in factors if isinstance(f, ir.Binary) and f.op == "**" and is_column(f.left)
                  and is_param(f.right)]
        cols = [f for f in factors if is_column(f)]
        if len(params) == 1 and len(cols) == 1 and len(factors) == 2:
            roles.setdefault(params[0].name, ("meaning.slope", {"column": cols[0].name}))
        elif len(powers) == 1 and len(factors) == len(params) + 1 and len(params) <= 1:
            power = powers[0]
            roles.setdefault(power.right.name, ("meaning.elasticity", {"column": power.left.name}))
            for p in params:
                roles.setdefault(p.name, ("meaning.scale", {"column": power.left.name}))
    return roles


def parameter_meanings(names, *, tr, target: str, kind: str | None, inputs, formula: str | None = None,
                       describe: dict | None = None, units: dict | None = None) -> dict[str, str]:
    """name -> plain words, for the parameters whose meaning is known."""
    units, describe = units or {}, describe or {}
    roles = {}
    if formula:
        try:
            roles = _formula_roles(formula, inputs)
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
            out[name] = tr(key, target=target, unit=unit_suffix(units.get(column), tr), **fields)
    return out
