"""Gradient checking: the engine's derivatives against numerical ones.

``gradcheck(f, *inputs)`` returns a ``GradcheckReport``; ``check_nodes(y)`` checks every node of
a recorded graph on its own and names the primitives whose rule is wrong.

Numerical differentiation, and why its step is what it is. The central difference
D(h) = (φ(x+h) − φ(x−h)) / 2h has a truncation error ≈ h²·φ'''/6 and a rounding error
≈ ε·|φ|/h (ε = 2⁻⁵² is the machine epsilon): one falls and the other grows as h shrinks, and they
balance at h ≈ ε^(1/3) ≈ 6·10⁻⁶ relative to the size of x. So each element gets its own step
h_i = eps·max(1, |x_i|), rounded to a power of two so that x_i ± h_i are exact in binary.
Richardson extrapolation removes the h² term from two step sizes: (4·D(h/2) − D(h)) / 3 is
exact up to O(h⁴), which wins where the third derivative is large. A derivative passes when
|analytic − numeric| ≤ atol + rtol·|numeric| (torch.autograd.gradcheck's float64 defaults),
judged against whichever of the two estimates is closer: both estimate the same number, so a
wrong rule disagrees with both, while a right one may be spoiled in one of them (rounding at the
half step, truncation at the full step).

What is checked:
* every element of every input: reverse mode against central differences and Richardson;
* an array-valued ``f`` is reduced to the scalar φ = Σ u·f with a seeded random cotangent u, so
  the check is of the vector-Jacobian product uᵀJ (one backward pass, a row per input element,
  whatever the number of outputs); a wrong entry of J shows up in uᵀJ with probability one;
* one seeded random direction v in forward mode: the jvp ∂φ·v against the reverse-mode
  gradient·v and against the numerical directional derivative (HIPS autograd checks both modes
  the same way), so a wrong forward-mode rule is caught too;
* with ``per_node=True`` (or ``check_nodes``): each recorded node's vjp rule against the numerical
  derivative of that primitive's forward at the node's own input values, so a broken rule deep
  inside a model is named instead of merely making the whole gradient wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from workbench.engine.backward import topological_order
from workbench.engine.errors import EngineError
from workbench.engine.forward import jvp
from workbench.engine.mode import enable_grad, no_grad
from workbench.engine.prims_reduce import sum as _sum
from workbench.engine.prims_shape import unbroadcast
from workbench.engine.tensor import Tensor, as_float_array

EPS_BASE = float(np.finfo(np.float64).eps ** (1.0 / 3.0))


@dataclass(frozen=True)
class GradcheckRow:
    """One element of one input: its analytic and numerical derivatives and the verdict."""

    input_index: int
    element: tuple[int, ...]
    analytic: float
    numeric_central: float
    numeric_richardson: float | None
    abs_error: float
    rel_error: float
    passed: bool


@dataclass(frozen=True)
class DirectionCheck:
    """Forward mode along a random direction v: jvp, reverse-mode gradient·v, numerical."""

    forward: float
    reverse: float
    numeric: float
    passed: bool
    error: str | None = None


@dataclass(frozen=True)
class NodeCheck:
    """One input of one recorded node: its vjp rule against its forward, worst element shown."""

    position: int                     # place in reverse topological order, 0 = the output
    primitive: str
    input_index: int
    element: tuple[int, ...] | None   # None when checked along random directions
    analytic: float
    numeric: float
    abs_error: float
    passed: bool
    error: str | None = None


@dataclass
class NodeReport:
    """The per-node checks of one graph."""

    checks: list[NodeCheck] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed_nodes(self) -> tuple[str, ...]:
        """Names of the primitives with a wrong rule, each once, nearest the output first."""
        return tuple(dict.fromkeys(c.primitive for c in self.checks if not c.passed))

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED: " + ", ".join(self.failed_nodes)
        lines = [f"node check: {len(self.checks)} rules checked, {verdict}",
                 f"{'pos':>4}  {'primitive':<14}{'input':>5}  {'where':<12}{'analytic':>17}"
                 f"{'numeric':>17}{'abs err':>10}  ok"]
        for c in self.checks:
            where = "random dir" if c.element is None else str(c.element)
            lines.append(f"{c.position:>4}  {c.primitive:<14}{c.input_index:>5}  {where:<12}"
                         f"{c.analytic:>17.9e}{c.numeric:>17.9e}{c.abs_error:>10.2e}  "
                         f"{'ok' if c.passed else 'FAIL'}" + (f"  ({c.error})" if c.error else ""))
        return "\n".join(lines)


@dataclass
class GradcheckReport:
    """The result of ``gradcheck``: ``passed``, a row per input element, the forward-mode check."""

    rows: list[GradcheckRow]
    direction: DirectionCheck | None
    nodes: NodeReport | None
    atol: float
    rtol: float
    eps: float

    @property
    def passed(self) -> bool:
        return (all(r.passed for r in self.rows) and (self.direction is None or self.direction.passed)
                and (self.nodes is None or self.nodes.passed))

    @property
    def failed_nodes(self) -> tuple[str, ...]:
        return () if self.nodes is None else self.nodes.failed_nodes

    def table(self, max_rows: int = 40) -> str:
        """The rows as an aligned table, failures first, at most ``max_rows`` of them."""
        header = (f"{'input':>5}  {'element':<12}{'analytic':>17}{'central':>17}{'richardson':>17}"
                  f"{'abs err':>10}{'rel err':>10}  ok")
        ordered = [r for r in self.rows if not r.passed] + [r for r in self.rows if r.passed]
        lines = [header]
        for r in ordered[:max_rows]:
            rich = "-" if r.numeric_richardson is None else f"{r.numeric_richardson:.9e}"
            lines.append(f"{r.input_index:>5}  {str(r.element):<12}{r.analytic:>17.9e}"
                         f"{r.numeric_central:>17.9e}{rich:>17}{r.abs_error:>10.2e}"
                         f"{r.rel_error:>10.2e}  {'ok' if r.passed else 'FAIL'}")
        if len(ordered) > max_rows:
            lines.append(f"... {len(ordered) - max_rows} more rows, all passed")
        return "\n".join(lines)

    def __str__(self) -> str:
        failed = sum(not r.passed for r in self.rows)
        worst = max((r.abs_error for r in self.rows), default=0.0)
        lines = [f"gradcheck {'passed' if self.passed else 'FAILED'}: {len(self.rows) - failed} of "
                 f"{len(self.rows)} elements within |a-n| <= {self.atol:g} + {self.rtol:g}*|n| "
                 f"(worst abs error {worst:.2e}, step eps {self.eps:.2e})", self.table()]
        d = self.direction
        if d is not None:
            detail = (f"error: {d.error}" if d.error else
                      f"jvp {d.forward:.9e}, reverse {d.reverse:.9e}, numeric {d.numeric:.9e}")
            lines.append(f"random direction (forward mode): {detail}  {'ok' if d.passed else 'FAIL'}")
        if self.nodes is not None:
            lines.append(str(self.nodes))
        return "\n".join(lines)


# ---- numerical derivatives ---------------------------------------------------------------------

def _estimates(phi: Callable[[float], float], h: float, richardson: bool) -> tuple[float, float | None]:
    """Central difference D(h) of t ↦ φ(t) at 0, and Richardson's (4·D(h/2) − D(h)) / 3."""
    with np.errstate(all="ignore"):   # a probe may leave the domain; the NaN then fails the row
        central = (phi(h) - phi(-h)) / (2.0 * h)
        if not richardson:
            return central, None
        half = (phi(h / 2.0) - phi(-h / 2.0)) / h
    return central, (4.0 * half - central) / 3.0


def _power_of_two_step(eps: float, value: float) -> float:
    return float(2.0 ** np.round(np.log2(eps * max(1.0, abs(value)))))


def _score(analytic: float, numeric: float, atol: float, rtol: float) -> float:
    """|a − n| in units of the tolerance: ≤ 1 passes, NaN and inf never do."""
    err = abs(analytic - numeric)
    return err / (atol + rtol * abs(numeric)) if np.isfinite(err) else np.inf


def _closer(analytic: float, central: float, richardson: float | None) -> float:
    if richardson is None or not np.isfinite(richardson):
        return central
    if not np.isfinite(central) or abs(analytic - richardson) < abs(analytic - central):
        return richardson
    return central


def _row(i, element, analytic, central, richardson, atol, rtol) -> GradcheckRow:
    numeric = _closer(analytic, central, richardson)
    abs_error = abs(analytic - numeric) if np.isfinite(analytic - numeric) else np.inf
    if numeric != 0.0 and np.isfinite(numeric):
        rel_error = abs_error / abs(numeric)
    else:
        rel_error = 0.0 if abs_error == 0.0 else np.inf
    return GradcheckRow(i, element, float(analytic), float(central),
                        None if richardson is None else float(richardson), float(abs_error),
                        float(rel_error), bool(_score(analytic, numeric, atol, rtol) <= 1.0))


def _shifted(arrays: Sequence[np.ndarray], i: int, delta: np.ndarray) -> list[np.ndarray]:
    moved = list(arrays)
    moved[i] = arrays[i] + delta
    return moved


# ---- the function being checked ----------------------------------------------------------------

def _evaluate(f: Callable, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """f at plain values, nothing recorded."""
    with no_grad():
        out = f(*[Tensor(a) for a in arrays])
    return np.asarray(out.data if isinstance(out, Tensor) else as_float_array(out, "gradcheck"))


def _scalarised(f: Callable, cotangent: np.ndarray | None) -> Callable:
    """φ(x) = Σ u·f(x) for an array output, f itself for a scalar one (as engine operations)."""
    if cotangent is None:
        return f
    return lambda *xs: _sum(f(*xs) * cotangent)


def _element_rows(phi_of_arrays, arrays, analytic, eps, atol, rtol, richardson) -> list[GradcheckRow]:
    rows = []
    for i, x in enumerate(arrays):
        for flat in range(x.size):
            element = tuple(int(k) for k in np.unravel_index(flat, x.shape))
            basis = np.zeros(x.shape)
            basis.flat[flat] = 1.0
            h = _power_of_two_step(eps, float(x.flat[flat]))
            central, rich = _estimates(lambda t: phi_of_arrays(_shifted(arrays, i, t * basis)), h, richardson)
            rows.append(_row(i, element, float(analytic[i].flat[flat]), central, rich, atol, rtol))
    return rows


def _direction_check(phi, phi_of_arrays, arrays, analytic, rng, eps, atol, rtol, richardson):
    """jvp along v = r ⊙ max(1, |x|), r uniform in (−1, 1): each element moves at most eps·max(1,|x|)."""
    directions = [rng.uniform(-1.0, 1.0, x.shape) * np.maximum(1.0, np.abs(x)) for x in arrays]
    reverse = float(np.sum([np.sum(g * v) for g, v in zip(analytic, directions)]))

    def along(t):
        return phi_of_arrays([x + t * v for x, v in zip(arrays, directions)])
    central, rich = _estimates(along, eps, richardson)
    numeric = _closer(reverse, central, rich)
    try:
        _, forward = jvp(phi, tuple(arrays), tuple(directions))
    except EngineError as err:
        return DirectionCheck(np.nan, reverse, numeric, False, str(err))
    forward = float(np.sum(forward))
    passed = _score(forward, reverse, atol, rtol) <= 1.0 and _score(forward, numeric, atol, rtol) <= 1.0
    return DirectionCheck(forward, reverse, float(numeric), bool(passed))


def gradcheck(f: Callable, *inputs, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, richardson: bool = True, per_node: bool = False) -> GradcheckReport:
    """Compare reverse-mode derivatives of ``f`` at ``inputs`` with numerical ones.

    ``f`` takes tensors and returns a scalar or an array (an array is checked through a seeded
    random cotangent, see the module docstring). ``inputs`` are arrays, numbers or tensors; they
    are copied, never modified, and no ``.grad`` is touched. ``eps`` is the relative step
    (default ε^(1/3) ≈ 6e-6).
    """
    eps = EPS_BASE if eps is None else float(eps)
    arrays = [np.array(as_float_array(x, "gradcheck"), dtype=np.float64) for x in inputs]
    rng = np.random.default_rng(seed)
    out_shape = _evaluate(f, arrays).shape
    cotangent = rng.standard_normal(out_shape) if int(np.prod(out_shape)) > 1 else None
    phi = _scalarised(f, cotangent)

    def phi_of_arrays(xs):
        return float(np.sum(_evaluate(phi, xs)))

    leaves = [Tensor(x.copy(), requires_grad=True) for x in arrays]
    with enable_grad():
        value = phi(*leaves)
    nodes = NodeReport() if per_node else None
    if isinstance(value, Tensor) and value.requires_grad:
        if per_node:
            nodes = check_nodes(value, eps=eps, atol=atol, rtol=rtol, seed=seed)
        value.backward(np.ones(value.shape))
    analytic = [np.zeros(x.shape) if leaf.grad is None else np.asarray(leaf.grad) for x, leaf in
                zip(arrays, leaves)]
    rows = _element_rows(phi_of_arrays, arrays, analytic, eps, atol, rtol, richardson)
    direction = _direction_check(phi, phi_of_arrays, arrays, analytic, rng, eps, atol, rtol, richardson)
    return GradcheckReport(rows, direction, nodes, atol, rtol, eps)


# ---- one node at a time ------------------------------------------------------------------------

def _rule_adjoints(prim, g, ans, inputs, kw, wanted: list[int]) -> dict[int, np.ndarray]:
    """The adjoints a node's vjp rule(s) give for the wanted inputs."""
    if prim.vjp_all is not None:
        every = prim.vjp_all(g, ans, *inputs, **kw)
        return {i: every[i] for i in wanted}
    return {i: prim.vjp[i](g, ans, *inputs, **kw) for i in wanted}


def _wanted_inputs(prim, args) -> list[int]:
    """Inputs that need a gradient and have a rule (``where``'s condition, say, has none)."""
    has_rule = [prim.vjp_all is not None or (prim.vjp is not None and i < len(prim.vjp)
                                             and prim.vjp[i] is not None) for i in range(len(args))]
    return [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad and has_rule[i]]


def _to_shape(adjoint, shape: tuple) -> np.ndarray:
    """The rule's adjoint summed over broadcast axes (as the backward pass does)."""
    adjoint = np.asarray(adjoint, dtype=np.float64)
    if adjoint.shape != shape:
        if adjoint.ndim < len(shape):
            raise EngineError(f"vjp rule returned shape {adjoint.shape} for an input of shape {shape}")
        adjoint = np.asarray(unbroadcast(adjoint, shape), dtype=np.float64)
    return adjoint


def _check_input(position, prim, inputs, kw, i, w, adjoint, rng, eps, atol, rtol, max_elements):
    x = np.asarray(inputs[i], dtype=np.float64)

    def phi(delta):
        moved = list(inputs)
        moved[i] = x + delta
        with np.errstate(all="ignore"):
            return float(np.sum(w * prim.forward(*moved, **kw)))
    probes = []
    if x.size <= max_elements:
        for flat in range(x.size):
            basis = np.zeros(x.shape)
            basis.flat[flat] = 1.0
            h = _power_of_two_step(eps, float(x.flat[flat]))
            central, rich = _estimates(lambda t: phi(t * basis), h, True)
            a = float(adjoint.flat[flat])
            n = _closer(a, central, rich)
            element = tuple(int(k) for k in np.unravel_index(flat, x.shape))
            probes.append((_score(a, n, atol, rtol), element, a, n))
    else:
        for _ in range(3):
            v = rng.uniform(-1.0, 1.0, x.shape) * np.maximum(1.0, np.abs(x))
            central, rich = _estimates(lambda t: phi(t * v), eps, True)
            a = float(np.sum(adjoint * v))
            n = _closer(a, central, rich)
            probes.append((_score(a, n, atol, rtol), None, a, n))
    if not probes:   # an empty input has nothing to check
        return NodeCheck(position, prim.name, i, None, 0.0, 0.0, 0.0, True)
    score, element, a, n = max(probes, key=lambda probe: probe[0])
    abs_error = abs(a - n) if np.isfinite(a - n) else np.inf
    return NodeCheck(position, prim.name, i, element, a, float(n), float(abs_error), bool(score <= 1.0))


def check_nodes(output: Tensor, *, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
                seed: int = 0, max_elements: int = 64) -> NodeReport:
    """Check each recorded node of ``output``'s graph: its vjp rule against its own forward.

    For a node y = prim(x₁, ..., x_k, **kw) with a seeded random cotangent w, the rule's x̄ᵢ is
    compared with the numerical derivative of Σ w·prim.forward(...) with respect to xᵢ, element by
    element for inputs of at most ``max_elements`` values, along three random directions otherwise.
    The graph must not have been released by a backward pass.
    """
    if not isinstance(output, Tensor):
        raise EngineError(f"check_nodes: expected a Tensor, got {type(output).__name__}")
    eps = EPS_BASE if eps is None else float(eps)
    rng = np.random.default_rng(seed)
    report = NodeReport()
    for position, tensor in enumerate(topological_order(output)):
        node = tensor._node
        if node is None:
            continue
        if node.args is None:
            raise EngineError(f"check_nodes: the graph of this {node.prim.name} result (shape "
                              f"{tensor.shape}) was released by a backward pass; rebuild it or pass "
                              f"retain_graph=True")
        inputs = [a.data if isinstance(a, Tensor) else a for a in node.args]
        wanted = _wanted_inputs(node.prim, node.args)
        w = rng.standard_normal(tensor.shape)
        try:
            raw = _rule_adjoints(node.prim, w, tensor.data, inputs, node.kw, wanted)
            adjoints = {i: _to_shape(raw[i], np.shape(inputs[i])) for i in wanted}
        except Exception as err:  # a rule that crashes is as wrong as one that miscalculates
            report.checks.extend(NodeCheck(position, node.prim.name, i, None, np.nan, np.nan, np.inf,
                                           False, f"{type(err).__name__}: {err}") for i in wanted)
            continue
        for i, adjoint in adjoints.items():
            report.checks.append(_check_input(position, node.prim, inputs, node.kw, i, w, adjoint,
                                              rng, eps, atol, rtol, max_elements))
    return report
