"""One registration per public operation, from which everything that lists operations is derived.

Adding a primitive touches one place: the line in ``prims_*.py`` that defines it and registers
it. ``register(function, math=..., ...)`` records

* ``math``: its rule as a line of the formula sheet (``y = eˣ  |  x̄ = ḡ·y``);
* ``method``: whether tensors get it as a method (``x.exp()``);
* ``formula``: the names it has in the formula language of the YAML configs (``("arctan",
  "atan")``: the first is canonical), with its number of arguments;
* ``check``: how the test suite exercises it (the domain of each argument, a numpy reference).

From the registry come the engine's public namespace (``ad.exp``), the ``Tensor`` methods
(``methods.py``), the formula language's function list (``formula_functions``, read by
``workbench.formula``), the primitive test specs (``tests/engine/engine_specs.py``) and the
formula sheet in ``docs/engine.md`` (``formula_sheet``, checked by the docs test).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Callable

__all__ = ["Check", "Registered", "REGISTRY", "primitive", "register", "formula_functions", "formula_sheet"]


@dataclass(frozen=True)
class Check:
    """How the tests exercise an operation.

    ``domains``: per argument, a named domain of ``tests/engine/engine_specs.py`` or a (lo, hi)
    range; ``reference``: an independent numpy computation (default: the forward rule); ``call``:
    how to apply the operation to the drawn arguments (default: ``function(*args)``);
    ``reduction``: it takes ``axis`` and ``keepdims``.
    """

    domains: tuple = ("real",)
    reference: Callable | None = None
    call: Callable | None = None
    reduction: bool = False


@dataclass(frozen=True)
class Registered:
    name: str                      # ad.<name>
    function: Callable             # a Primitive, or a function composed of primitives
    math: str                      # its rule, as a line of the formula sheet
    module: str                    # the file that defines it, e.g. "prims_math.py"
    method: bool                   # also a Tensor method
    formula: tuple[str, ...]       # its names in the formula language, canonical first
    arity: int                     # number of tensor arguments
    check: Check | None


REGISTRY: dict[str, Registered] = {}


def register(function: Callable, *, math: str, name: str | None = None, method: bool = True,
             formula: tuple[str, ...] = (), arity: int = 1, check: Check | None = None) -> Callable:
    """Record ``function`` (see the module docstring) and return it unchanged."""
    name = name or getattr(function, "name", None) or function.__name__
    if name in REGISTRY:
        raise ValueError(f"register: {name!r} is registered twice")
    module = sys._getframe(1).f_globals.get("__name__", "").rsplit(".", 1)[-1] + ".py"
    REGISTRY[name] = Registered(name, function, math, module, method, tuple(formula), arity, check)
    return function


def formula_functions() -> dict[str, tuple[str, int]]:
    """The formula language's functions: written name -> (canonical name, number of arguments)."""
    found: dict[str, tuple[str, int]] = {}
    for entry in REGISTRY.values():
        for written in entry.formula:
            found[written] = (entry.formula[0], entry.arity)
    return found


def formula_sheet() -> str:
    """Every registered operation's rule, one line each, grouped by the file that defines it:
    the name, what it computes, and its vector-Jacobian product (or how it is composed)."""
    rows = [(e.module, e.name, *(e.math.split("  |  ", 1) + [""])[:2]) for e in REGISTRY.values()]
    name_width = max(len(row[1]) for row in rows)
    value_width = max(len(row[2]) for row in rows if row[3])
    lines, module = [], None
    for where, name, value, rule in rows:
        if where != module:
            lines.append(f"{where}:")
            module = where
        lines.append(f"  {name:<{name_width}}  {value:<{value_width}}  {rule}".rstrip())
    return "\n".join(lines)


def primitive(name: str, forward: Callable, vjp=None, jvp=None, *, math: str, method: bool = True,
              formula: tuple[str, ...] = (), arity: int = 1, check: Check | None = Check(), **options):
    """Define a ``Primitive`` and register it, in one call: the way every primitive is added.

    ``options`` are the Primitive's own (``elementwise``, ``linear``, ``reads``, ``vjp_all``...).
    By default the tests check it on real numbers against its own forward rule; ``check=None``
    leaves it to tests of its own (shape operations, ``where``).
    """
    from workbench.engine.graph import Primitive

    prim = Primitive(name, forward, vjp, jvp, math=math, **options)
    module = sys._getframe(1).f_globals.get("__name__", "").rsplit(".", 1)[-1] + ".py"
    if name in REGISTRY:
        raise ValueError(f"register: {name!r} is registered twice")
    REGISTRY[name] = Registered(name, prim, math, module, method, tuple(formula), arity, check)
    return prim
