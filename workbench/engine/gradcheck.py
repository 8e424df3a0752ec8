"""Gradient checking: the engine's derivatives against numerical ones.

``gradcheck(f, *inputs)`` returns a ``GradcheckReport``; ``check_nodes(y)`` checks every node of
a recorded graph on its own and names the primitives whose rule is wrong.

Numerical differentiation (``workbench.engine.numdiff``). Each element is differentiated along
its own axis with steps taken on the function's natural length there (from the slope and the
curvature, not merely from the size of x), by Ridders' Richardson table, which also estimates its
own error. ``numeric_central`` is the plain central difference at the step eps·length and
``numeric_richardson`` the table's best estimate. A derivative agrees when |analytic − numeric|
≤ atol + rtol·|numeric| (torch.autograd.gradcheck's float64 defaults) plus three error estimates,
disagrees beyond ten, and is "inconclusive" otherwise or when the estimate's error is larger than
the value it estimates: numbers that are mostly rounding noise decide nothing. Only a
disagreement fails a row.

What is checked:
* every element of every input: reverse mode against the numerical estimate and its error;
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

from workbench.engine.errors import EngineError
from workbench.engine.forward import jvp
from workbench.engine.mode import enable_grad, no_grad
from workbench.engine.numdiff import (DISAGREE_ERRORS, DISAGREES, FIRST_STEP, INCONCLUSIVE, LEVELS, SHRINK,
                                      NumericDerivative, judge, numeric_derivative)
from workbench.engine.prims_reduce import sum as _sum
from workbench.engine.pullback import flatten, pullback
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
    numeric_error: float = np.nan     # the numeric estimate's own error estimate (``numdiff``)
    length: float = np.nan            # the natural length its steps were taken on
    verdict: str = ""                 # "agrees", "disagrees" or "inconclusive"


@dataclass(frozen=True)
class DirectionCheck:
    """Forward mode along a random direction v: jvp, reverse-mode gradient·v, numerical."""

    forward: float
    reverse: float
    numeric: float
    passed: bool
    error: str | None = None
    numeric_error: float = np.nan
    verdict: str = ""                 # the numeric estimate against forward mode


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

    @property
    def inconclusive(self) -> list[GradcheckRow]:
        """Rows whose numeric estimate is too noisy to confirm or refute the analytic value."""
        return [r for r in self.rows if r.verdict == INCONCLUSIVE]

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

@dataclass(frozen=True)
class _Settings:
    eps: float
    atol: float
    rtol: float
    richardson: bool = True


def _score(analytic: float, numeric: float, tol: _Settings, noise: float = 0.0) -> float:
    """|a − n| in units of the tolerance: ≤ 1 passes, NaN and inf never do."""
    err = abs(analytic - numeric)
    return err / (tol.atol + tol.rtol * abs(numeric) + noise) if np.isfinite(err) else np.inf


def _basis(shape: tuple, flat: int) -> tuple[np.ndarray, tuple[int, ...]]:
    basis = np.zeros(shape)
    basis.flat[flat] = 1.0
    return basis, tuple(int(k) for k in np.unravel_index(flat, shape))


# ---- the function being checked ----------------------------------------------------------------

def _evaluate(f: Callable, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """f at plain values, nothing recorded."""
    with no_grad():
        out = f(*[Tensor(a) for a in arrays])
    return np.asarray(out.data if isinstance(out, Tensor) else as_float_array(out, "gradcheck"))


def _row(i, element, analytic: float, estimate, tol: _Settings) -> GradcheckRow:
    """The row of one element; the verdict weighs the numeric estimate's own error (``numdiff.judge``)."""
    numeric = estimate.value
    abs_error = abs(analytic - numeric) if np.isfinite(analytic - numeric) else np.inf
    finite_nonzero = numeric != 0.0 and np.isfinite(numeric)
    rel_error = abs_error / abs(numeric) if finite_nonzero else (0.0 if abs_error == 0.0 else np.inf)
    verdict = judge(analytic, numeric, estimate.error, tol.atol, tol.rtol)
    richardson = float(numeric) if tol.richardson else None
    return GradcheckRow(i, element, analytic, float(estimate.central), richardson, float(abs_error),
                        float(rel_error), verdict != DISAGREES, float(estimate.error), estimate.length, verdict)


def _element_rows(phi_of_arrays, arrays, analytic, tol: _Settings) -> list[GradcheckRow]:
    """Each element along its own axis, with steps on its natural length (``numdiff``)."""
    rows = []
    f0 = phi_of_arrays(arrays)
    for i, x in enumerate(arrays):
        for flat in range(x.size):
            basis, element = _basis(x.shape, flat)
            slope = float(analytic[i].flat[flat])

            def along(t):
                return phi_of_arrays(arrays[:i] + [x + t * basis] + arrays[i + 1:])
            estimate = numeric_derivative(along, f0, slope, max(1.0, abs(float(x.flat[flat]))), tol.eps)
            if not tol.richardson:   # the bare central difference, judged as if exact
                estimate = NumericDerivative(estimate.central, 0.0, estimate.central, estimate.length)
            rows.append(_row(i, element, slope, estimate, tol))
    return rows


def _direction_check(phi, phi_of_arrays, arrays, analytic, rng, tol: _Settings) -> DirectionCheck:
    """jvp along v = r ⊙ max(1, |x|), r uniform in (−1, 1), against reverse mode and a numeric estimate.

    Forward against reverse mode is exact evidence; the numeric estimate can only refute the jvp
    when its own error is small enough (``numdiff.judge``)."""
    directions = [rng.uniform(-1.0, 1.0, x.shape) * np.maximum(1.0, np.abs(x)) for x in arrays]
    reverse = float(np.sum([np.sum(g * v) for g, v in zip(analytic, directions)]))
    estimate = numeric_derivative(lambda t: phi_of_arrays([x + t * v for x, v in zip(arrays, directions)]),
                                  phi_of_arrays(arrays), reverse, 1.0, tol.eps)
    try:
        forward = float(np.sum(jvp(phi, tuple(arrays), tuple(directions))[1]))
    except EngineError as err:
        return DirectionCheck(np.nan, reverse, estimate.value, False, str(err), estimate.error)
    verdict = judge(forward, estimate.value, estimate.error, tol.atol, tol.rtol)
    passed = _score(forward, reverse, tol) <= 1.0 and verdict != DISAGREES
    return DirectionCheck(forward, reverse, estimate.value, bool(passed), None, estimate.error, verdict)


def gradcheck(f: Callable, *inputs, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, richardson: bool = True, per_node: bool = False) -> GradcheckReport:
    """Compare reverse-mode derivatives of ``f`` at ``inputs`` with numerical ones.

    ``f`` takes tensors and returns a scalar or an array (an array is checked through a seeded
    random cotangent, see the module docstring). ``inputs`` are arrays, numbers or tensors; they
    are copied, never modified, and no ``.grad`` is touched. ``eps`` is the relative step
    (default ε^(1/3) ≈ 6e-6).
    """
    tol = _Settings(EPS_BASE if eps is None else float(eps), atol, rtol, richardson)
    arrays = [np.array(as_float_array(x, "gradcheck"), dtype=np.float64) for x in inputs]
    rng = np.random.default_rng(seed)
    out_shape = _evaluate(f, arrays).shape
    cotangent = rng.standard_normal(out_shape) if int(np.prod(out_shape)) > 1 else None

    def phi(*xs):   # φ = Σ u·f for an array output, f itself for a scalar one
        return f(*xs) if cotangent is None else _sum(f(*xs) * cotangent)

    def phi_of_arrays(xs):
        return float(np.sum(_evaluate(phi, xs)))

    leaves = [Tensor(x.copy(), requires_grad=True) for x in arrays]
    with enable_grad():
        value = phi(*leaves)
    nodes = NodeReport() if per_node else None
    if isinstance(value, Tensor) and value.requires_grad:
        if per_node:
            nodes = check_nodes(value, eps=tol.eps, atol=atol, rtol=rtol, seed=seed)
        value.backward(np.ones(value.shape))
    analytic = [np.zeros(x.shape) if leaf.grad is None else np.asarray(leaf.grad) for x, leaf in
                zip(arrays, leaves)]
    rows = _element_rows(phi_of_arrays, arrays, analytic, tol)
    return GradcheckReport(rows, _direction_check(phi, phi_of_arrays, arrays, analytic, rng, tol), nodes,
                           atol, rtol, tol.eps)


# ---- one node at a time ------------------------------------------------------------------------

class _NodeProbe:
    """One node's forward, probed numerically: ψ(δ) = Σ w·prim.forward(..., xᵢ + δ, ...)."""

    def __init__(self, prim, inputs: list, kw: dict, w: np.ndarray, ans: np.ndarray):
        self.prim, self.inputs, self.kw, self.w = prim, inputs, kw, w
        # The probe's values are Σ w·y rounded: its differences are no more precise than ε·Σ|w·y|
        # (a node computing 1e9 + x cannot resolve x to better than 1e-7). That noise, over the
        # step, widens the tolerance, so a right rule is not named for what the numbers cannot
        # resolve.
        self.rounding = float(np.finfo(np.float64).eps * np.sum(np.abs(w * ans)))

    def value(self, i: int, delta: np.ndarray) -> float:
        moved = list(self.inputs)
        moved[i] = np.asarray(self.inputs[i], dtype=np.float64) + delta
        with np.errstate(all="ignore"):
            return float(np.sum(self.w * self.prim.forward(*moved, **self.kw)))

    def compare(self, i: int, direction: np.ndarray, scale: float, analytic: float, tol: _Settings):
        """(score, analytic, numeric, passed) for the derivative of ψ along ``direction``.

        The numeric estimate is taken on ψ's natural length (``numdiff``), its error widened by
        the probe's rounding over the smallest step; only a confident disagreement fails."""
        along = lambda t: self.value(i, t * direction)  # noqa: E731
        estimate = numeric_derivative(along, along(0.0), analytic, scale, tol.eps)
        smallest_step = estimate.length * FIRST_STEP / SHRINK ** (LEVELS - 1)
        error = max(estimate.error, 4.0 * self.rounding / smallest_step)
        verdict = judge(analytic, estimate.value, error, tol.atol, tol.rtol)
        gap = abs(analytic - estimate.value)
        score = gap / (tol.atol + tol.rtol * abs(estimate.value) + DISAGREE_ERRORS * error) \
            if np.isfinite(gap) else np.inf
        return float(score), analytic, float(estimate.value), verdict != DISAGREES


def _check_input(position: int, probe: _NodeProbe, i: int, adjoint: np.ndarray, rng, tol: _Settings,
                 max_elements: int) -> NodeCheck:
    """Element by element for a small input, along three random directions for a large one."""
    x = np.asarray(probe.inputs[i], dtype=np.float64)
    results = []
    if x.size <= max_elements:
        for flat in range(x.size):
            basis, element = _basis(x.shape, flat)
            scale = max(1.0, abs(float(x.flat[flat])))
            results.append((*probe.compare(i, basis, scale, float(adjoint.flat[flat]), tol), element))
    else:
        for _ in range(3):
            v = rng.uniform(-1.0, 1.0, x.shape) * np.maximum(1.0, np.abs(x))
            results.append((*probe.compare(i, v, 1.0, float(np.sum(adjoint * v)), tol), None))
    if not results:   # an empty input has nothing to check
        return NodeCheck(position, probe.prim.name, i, None, 0.0, 0.0, 0.0, True)
    failed = [r for r in results if not r[3]]
    score, a, n, passed, element = max(failed or results, key=lambda result: result[0])
    abs_error = abs(a - n) if np.isfinite(a - n) else np.inf
    return NodeCheck(position, probe.prim.name, i, element, a, n, float(abs_error), bool(passed))


def check_nodes(output: Tensor, *, eps: float | None = None, atol: float = 1e-5, rtol: float = 1e-3,
                seed: int = 0, max_elements: int = 64) -> NodeReport:
    """Check each recorded node of ``output``'s graph: its vjp rule against its own forward.

    For a node y = prim(x₁, ..., x_k, **kw) with a seeded random cotangent w, the rule's x̄ᵢ is
    compared with the numerical derivative of Σ w·prim.forward(...) with respect to xᵢ, element by
    element for inputs of at most ``max_elements`` values, along three random directions otherwise,
    with the tolerance widened by the rounding noise of the probe (see ``_NodeProbe``). The graph
    must not have been released by a backward pass.
    """
    if not isinstance(output, Tensor):
        raise EngineError(f"check_nodes: expected a Tensor, got {type(output).__name__}")
    steps, tensors, _ = flatten(output)
    for tensor in tensors:
        node = tensor._node
        if node is not None and node.args is None:
            raise EngineError(f"check_nodes: the graph of this {node.prim.name} result (shape "
                              f"{tensor.shape}) was released by a backward pass; rebuild it or pass "
                              f"retain_graph=True")
    checker = _NodeChecker(tensors, _Settings(EPS_BASE if eps is None else float(eps), atol, rtol),
                           np.random.default_rng(seed), max_elements)
    pullback(steps, [None] * len(tensors), checker)
    return checker.report


class _NodeChecker:
    """A ``pullback`` hook: each step's rules get a random cotangent w, and what they give back
    (summed to the inputs' shapes as the backward pass adds it) is checked against the forward."""

    def __init__(self, tensors: list, tol: _Settings, rng, max_elements: int):
        self.tensors, self.tol, self.rng, self.max_elements = tensors, tol, rng, max_elements
        self.report = NodeReport()
        self.w = None

    def _position(self, step) -> int:   # place in topological order, 0 = the output
        return len(self.tensors) - 1 - step[0]

    def cotangent(self, step, g):
        self.w = self.rng.standard_normal(np.shape(step[1]))
        return self.w

    def shares(self, step, g, shares, added) -> None:
        _, ans, prim, kw, inputs, wanted, _ = step
        probe = _NodeProbe(prim, list(inputs), kw, self.w, ans)
        for (i, _, shape), share, adjoint in zip(wanted, shares, added):
            if np.ndim(share) < len(shape):
                self.failed(step, EngineError(f"vjp rule returned shape {np.shape(share)} for an input "
                                              f"of shape {shape}"), only=i)
                continue
            adjoint = np.asarray(adjoint, dtype=np.float64)
            self.report.checks.append(_check_input(self._position(step), probe, i, adjoint, self.rng,
                                                   self.tol, self.max_elements))

    def failed(self, step, error, only: int | None = None) -> bool:
        """A rule that crashes is as wrong as one that miscalculates: recorded, and the check goes on."""
        positions = [i for i, _, _ in step[5]] if only is None else [only]
        self.report.checks.extend(NodeCheck(self._position(step), step[2].name, i, None, np.nan, np.nan,
                                            np.inf, False, f"{type(error).__name__}: {error}")
                                  for i in positions)
        return True
