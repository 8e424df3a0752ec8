"""Standard errors, confidence intervals and correlations of fitted parameters.

Least squares: cov = s²·(JᵀJ)⁻¹ with s² = Σwᵢrᵢ² / (n − p) and J the exact Jacobian of the
model at the solution. We never form JᵀJ: from the SVD J = U·diag(σ)·Vᵀ, (JᵀJ)⁻¹ = V·diag(σ⁻²)·Vᵀ,
which loses half as many digits on ill-conditioned problems (this is how the NIST certified
standard errors are reproduced). Other losses: cov = H⁻¹ of the summed negative log-likelihood
for cross-entropy, and 2·s²·H⁻¹ of the summed loss otherwise (which equals the least-squares
formula for squared residuals), with H the exact Hessian from the engine.

When the matrix is singular we say so and name the parameters that cannot be determined:
those sitting at a bound (they are held there, not estimated) and those along the near-null
directions (perfectly correlated with others).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.stats import t_quantile

SINGULAR_RCOND = 1e-11          # σ_min/σ_max below this: JᵀJ is numerically singular
MAX_PARAMS_FOR_HESSIAN = 300


@dataclass
class Uncertainty:
    names: list[str]                         # one per free scalar parameter
    stderr: np.ndarray                       # nan where it could not be estimated
    covariance: np.ndarray | None
    correlation: np.ndarray | None
    ci_low: np.ndarray
    ci_high: np.ndarray
    t_value: float
    dof: int
    warnings: list[str] = field(default_factory=list)
    undetermined: list[str] = field(default_factory=list)


def _null_space_names(v_null: np.ndarray, names: list[str]) -> list[str]:
    weight = np.max(np.abs(v_null), axis=1) if v_null.size else np.zeros(len(names))
    return [n for n, w in zip(names, weight) if w > 0.1]


def _inverse_from_svd(matrix_sqrt: np.ndarray, names: list[str]):
    """(JᵀJ)⁻¹ from J's SVD; None and the undetermined names when singular."""
    _, sigma, vt = np.linalg.svd(matrix_sqrt, full_matrices=False)
    if sigma.size == 0 or sigma[0] == 0:
        return None, list(names)
    small = sigma < SINGULAR_RCOND * sigma[0]
    if np.any(small) or sigma.size < len(names):
        null = vt[small].T if np.any(small) else np.eye(len(names))[:, sigma.size:]
        return None, _null_space_names(null, names)
    return (vt.T / sigma ** 2) @ vt, []


def _inverse_symmetric(h: np.ndarray, names: list[str]):
    eigval, eigvec = np.linalg.eigh(0.5 * (h + h.T))
    top = np.max(np.abs(eigval)) if eigval.size else 0.0
    bad = eigval <= SINGULAR_RCOND ** 2 * max(top, 1e-300) * 1e6
    if top == 0 or np.any(bad):
        return None, _null_space_names(eigvec[:, bad], names) or list(names)
    return (eigvec / eigval) @ eigvec.T, []


def estimate(names: list[str], values: np.ndarray, n_rows: int, *, jacobian: np.ndarray | None = None,
             weights: np.ndarray | None = None, residuals: np.ndarray | None = None,
             hessian: np.ndarray | None = None, loss_sum: float | None = None, likelihood: bool = False,
             at_bound: list[str] = ()) -> Uncertainty:
    """Uncertainties of the free parameters ``names`` at ``values``.

    Give ``jacobian`` (model output w.r.t. parameters, n×p) and ``residuals`` for least squares,
    or ``hessian`` of the summed loss (with ``loss_sum``; ``likelihood`` for cross-entropy).
    Parameters in ``at_bound`` are excluded and reported.
    """
    p = len(names)
    dof = n_rows - p
    t_value = t_quantile(0.975, dof) if dof > 0 else float("inf")
    keep = [i for i, n in enumerate(names) if n not in set(at_bound)]
    warnings, undetermined = [], list(at_bound)
    if at_bound:
        warnings.append("no standard error for " + ", ".join(at_bound) + ": at a bound")
    cov_kept, missing = None, []
    if dof <= 0:
        warnings.append(f"uncertainties cannot be estimated: {n_rows} rows for {p} parameters")
        missing = [names[i] for i in keep]
    elif jacobian is not None:
        w = np.sqrt(weights)[:, None] if weights is not None else 1.0
        inv, missing = _inverse_from_svd(jacobian[:, keep] * w, [names[i] for i in keep])
        if inv is not None:
            r = residuals if weights is None else residuals * np.sqrt(weights)
            cov_kept = inv * float(np.sum(r * r)) / dof
    elif hessian is not None:
        inv, missing = _inverse_symmetric(hessian[np.ix_(keep, keep)], [names[i] for i in keep])
        if inv is not None:
            cov_kept = inv if likelihood else inv * 2.0 * float(loss_sum) / dof
    if missing and dof > 0:
        warnings.append("the covariance matrix is singular: " + ", ".join(missing) +
                        " cannot be determined (perfectly correlated with other parameters, or without effect)")
        undetermined += [m for m in missing if m not in undetermined]
    stderr = np.full(p, np.nan)
    cov = corr = None
    if cov_kept is not None:
        cov = np.full((p, p), np.nan)
        cov[np.ix_(keep, keep)] = cov_kept
        stderr[keep] = np.sqrt(np.clip(np.diag(cov_kept), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(stderr, stderr)
    half = t_value * stderr
    return Uncertainty(list(names), stderr, cov, corr, values - half, values + half, t_value, dof,
                       warnings, undetermined)
