"""Least squares of a model that is linear in its parameters, solved in closed form.

When every prediction is X·θ + b (the built-in ``linear`` and ``polynomial`` models, and any
formula the formula module finds linear in its parameters, ``Model.linear_in_params``), the
loss (1/n)·Σ wᵢ rᵢ² (Σ for sse) + l2·‖D·θ‖² is minimised by one linear solve: no iterations.

How. X = ∂prediction/∂θ is the model's exact Jacobian, built once per row chunk and constant in
θ: the built-in models hand it back directly (``design_matrix``), a formula by forward mode. Each chunk's [√w·X | √w·(y − prediction(θ₀))] is reduced by QR to a
(p+1) × (p+1) triangle and the triangles are reduced again (TSQR, ``chunks.stack_triangles``,
the same reduction the chunked iterative path uses, computed where the chunks live when Dask
holds them): R = [[R₁₁, z], [0, ρ]] with θ = θ₀ + R₁₁⁻¹·z and ρ² the weighted sum of squared
residuals there. Never forming XᵀX keeps the digits that the normal equations would lose.
l2 adds the rows √(l2/scale)·D (D: the penalized parameters, times their inputs' spread with
``standardize``) under R before the last reduction; l1 is not smooth and stays iterative.

When it is not used. An optimizer the config names is respected (the closed form replaces
only the default choice); an ill-conditioned design (equilibrated σ_min/σ_max below
``MIN_RCOND``) or a solution outside the parameters' bounds falls back to the iterative path
with a note saying why. Uncertainties come from the same triangle R₁₁ (RᵀR = XᵀWX), or for l2
from the penalized triangle, the Hessian the iterative path would compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workbench.optim.base import CONVERGED, OptimizeResult
from workbench.pipeline.chunks import design_triangle, stack_triangles

MIN_RCOND = 1e-10        # equilibrated σ_min/σ_max of X below this: too few digits left, iterate
LEAST_SQUARES = ("mse", "sse")


@dataclass
class LinearSolution(OptimizeResult):
    """An ``OptimizeResult`` that also carries the triangle its uncertainties are computed from."""

    design_factor: np.ndarray | None = None     # R with RᵀR = Xᵀ W X (the model's Jacobian)
    penalized_hessian: np.ndarray | None = None  # Hessian of the summed loss, with l2 (else None)


def closed_form_applies(prepared) -> bool:
    """True when the fit's loss and model admit the closed form and no optimizer was named."""
    loss, model = prepared.loss, prepared.model
    return (prepared.config.optimizer.name is None and loss.name in LEAST_SQUARES and loss.l1 == 0.0
            and bool(getattr(model, "linear_in_params", False)) and not model.binary)


def solve_linear(prepared, view) -> tuple[LinearSolution | None, str | None]:
    """The closed-form solution, or None and the note saying why the iterative path is taken.

    ``view`` is what the optimizer would see (``fit_objective``): its chunks, local or on Dask,
    give the triangles, and its rows and loss are the solution's (on a cluster every row's, not
    the client's sample)."""
    objective, x0 = prepared.objective, np.asarray(prepared.x0, dtype=float)
    p = objective.n_params
    if hasattr(view, "map_chunks"):
        reduced = stack_triangles(view.map_chunks(_DesignTriangle(x0)))
    else:
        reduced = design_triangle(objective, x0)
    reduced = _square(reduced, p + 1)
    design, rhs = reduced[:p, :p], reduced[:p, p]
    rcond = _rcond(design)
    if not rcond >= MIN_RCOND:
        return None, (f"the closed-form solve was not used: the design matrix is ill-conditioned (equilibrated "
                      f"condition number {1 / rcond if rcond > 0 else math.inf:.3g}); fitted iteratively")
    scale = prepared.loss.scale(view.n_rows)     # the view's: every row on a cluster, not the client's sample
    penalized = design
    if prepared.loss.l2:
        penalty_rows = math.sqrt(prepared.loss.l2 / scale) * penalty_matrix(objective)
        stacked = np.vstack([reduced[:p + 1], np.column_stack([penalty_rows, -penalty_rows @ x0])])
        reduced = _square(np.linalg.qr(stacked, mode="r"), p + 1)
        penalized, rhs = reduced[:p, :p], reduced[:p, p]
    x = x0 + np.linalg.solve(penalized, rhs)       # triangular: no pivoting needed, p × p
    outside = _outside_bounds(prepared, x)
    if outside:
        return None, (f"the closed-form solution puts {outside} outside its bounds; fitted iteratively")
    return _result(prepared, view, x, x0, design, penalized, rcond), None


class _DesignTriangle:
    """``design_triangle`` at a fixed θ₀ as a picklable callable (Dask ships it to the workers)."""

    def __init__(self, x0: np.ndarray):
        self.x0 = x0

    def __call__(self, part) -> np.ndarray:
        return design_triangle(part, self.x0)


def _square(triangle: np.ndarray, size: int) -> np.ndarray:
    """The triangle padded with zero rows to ``size`` × ``size`` (a chunk with fewer rows than columns)."""
    if triangle.shape[0] >= size:
        return triangle[:size]
    return np.vstack([triangle, np.zeros((size - triangle.shape[0], triangle.shape[1]))])


def _rcond(design: np.ndarray) -> float:
    """σ_min/σ_max of the triangle with unit columns (units are not conditioning; see uncertainty.py)."""
    norms = np.sqrt(np.sum(design * design, axis=0))
    if not np.all(np.isfinite(design)) or np.any(norms == 0):
        return 0.0
    sigma = np.linalg.svd(design / norms, compute_uv=False)
    return float(sigma[-1] / sigma[0])


def penalty_matrix(objective) -> np.ndarray:
    """D with ‖D·θ‖² the l2 penalty's sum: the objective's penalized values are linear in θ, so
    column k is their value at the k-th unit vector (offsets give no row's weight)."""
    p = objective.n_params
    columns = []
    for k in range(p):
        unit = np.zeros(p)
        unit[k] = 1.0
        values = objective._penalized(objective.unpack(unit))
        columns.append(np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in values]) if values else
                       np.zeros(0))
    return np.column_stack(columns) if columns and columns[0].size else np.zeros((0, p))


def _outside_bounds(prepared, x: np.ndarray) -> str | None:
    from workbench.pipeline.results import scalar_names

    names = scalar_names(prepared)
    bad = [names[i] for i in np.flatnonzero((x < prepared.lower) | (x > prepared.upper))]
    return ", ".join(bad[:8]) if bad else None


def _result(prepared, view, x, x0, design, penalized, rcond) -> LinearSolution:
    # The view's loss and rows: in chunks a chunk's memory, on a cluster every row (not the client's sample).
    start, loss = view.loss_value(x0), view.loss_value(x)
    history = [{"step": step, "loss": value, "grad_norm": None, "lr": None, "val_loss": None, "elapsed_s": None}
               for step, value in ((0, start), (1, loss))]
    hessian = None
    if prepared.loss.l2:
        # The summed loss Σ wᵢrᵢ² + (l2/scale)·‖Dθ‖² (the iterative path's Hessian): twice RᵀR.
        hessian = 2.0 * (penalized.T @ penalized)
    message = (f"solved in closed form: a QR factorization of the {view.n_rows:,} × {view.n_params} design "
               f"matrix (equilibrated condition number {1 / rcond:.3g})")
    return LinearSolution(x=x, fun=loss, success=True, status=CONVERGED, message=message, nit=1, nfev=1, njev=1,
                          history=history, design_factor=design, penalized_hessian=hessian)

