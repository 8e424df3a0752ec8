"""Standard errors, confidence intervals and correlations of fitted parameters.

Least squares: cov = s²·(JᵀJ)⁻¹ with s² = Σwᵢrᵢ² / (n − p) and J the exact Jacobian of the
model at the solution. We never form JᵀJ: from the SVD J = U·diag(σ)·Vᵀ, (JᵀJ)⁻¹ = V·diag(σ⁻²)·Vᵀ,
which loses half as many digits on ill-conditioned problems (this is how the NIST certified
standard errors are reproduced). Other losses: cov = H⁻¹ of the summed negative log-likelihood
for cross-entropy, and 2·s²·H⁻¹ of the summed loss otherwise (which equals the least-squares
formula for squared residuals), with H the exact Hessian from the engine.

Columns are equilibrated first (each divided by its norm, as numpy.polyfit does): a polynomial
over day numbers has Jacobian columns from 1 to 10¹⁴, which is a matter of units, not of
information. When the equilibrated matrix is still singular we say why, per parameter
(``Undetermined``): held at a bound; no effect on the predictions; collinear with another
parameter (the pair is named); an input column spanning many orders of magnitude (the fix:
centre and scale it, or ``model.standardize: true``); or a combination of several parameters.

Exact uncertainties are refused before any large allocation (``too_large``): above the size limit
no standard errors are computed and the warning says so and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workbench.errors import env_limit
from workbench.stats import t_quantile

SINGULAR_RCOND = 1e-11          # σ_min/σ_max below this: JᵀJ is numerically singular
MAX_PARAMS_FOR_HESSIAN = 300
MAX_ELEMENTS_ENV = "WORKBENCH_MAX_UNCERTAINTY_ELEMENTS"
MAX_ELEMENTS = 2_000_000        # rows × parameters of an exact Jacobian (or parameters² of a Hessian)
COLLINEAR = 1.0 - 1e-9          # |cosine| between two Jacobian columns at or above this: collinear
SPAN_FOR_SCALING = 1e6          # a column whose values span more orders than this is badly scaled
MAX_NAMED = 8


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
    undetermined: list[dict] = field(default_factory=list)   # {"param", "reason", "with"}: result.json
    source: str = "none"                     # the matrix used: "jacobian", "hessian" or "none"

    @property
    def undetermined_names(self) -> list[str]:
        return [u["param"] for u in self.undetermined]

    @property
    def method(self) -> str:
        """How the standard errors were computed: "jacobian" (s²·(JᵀJ)⁻¹), "hessian" (from H⁻¹),
        or "none" (not computed; ``summary`` says why)."""
        return self.source if self.covariance is not None else "none"

    def summary(self) -> dict:
        """result.json's ``uncertainty``: the method, and why there are none when there are none."""
        why = "" if self.method != "none" else "; ".join(self.warnings) or "no standard errors could be computed"
        return {"method": self.method, "why": why}


REASON_WORDS = {"at_bound": "held at a bound", "no_effect": "no effect on the predictions",
                "collinear": "collinear with {with}", "scaling": "badly scaled",
                "combination": "a combination of {with}", "numerics": "the computation failed"}


def names_with_count(names: list[str]) -> str:
    """At most MAX_NAMED names, then how many more (an MLP has hundreds)."""
    shown = ", ".join(names[:MAX_NAMED])
    return shown if len(names) <= MAX_NAMED else f"{shown} and {len(names) - MAX_NAMED} more"


def too_large(kind: str, elements: int) -> str | None:
    """Why exact uncertainties are refused (None when they are not): checked before allocating."""
    limit = env_limit(MAX_ELEMENTS_ENV, MAX_ELEMENTS)
    if elements <= limit:
        return None
    return (f"uncertainties were not computed (method: none): the exact {kind} would hold {elements:,} numbers "
            f"({elements * 8 / 2**30:.3g} GB and several times that to factor it), above the limit of {limit:,} "
            f"(raise it with the environment variable {MAX_ELEMENTS_ENV}, or fit fewer parameters)")


def _equilibrated(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """matrix·D⁻¹ with D the column norms (zero columns left as they are) and D."""
    norms = np.sqrt(np.sum(matrix * matrix, axis=0))
    d = np.where(norms > 0, norms, 1.0)
    return matrix / d, d


def _classify(columns: np.ndarray, null: np.ndarray, names: list[str]) -> list[dict]:
    """Why each parameter along the null directions cannot be determined (see the module docstring)."""
    norms = np.sqrt(np.sum(columns * columns, axis=0))
    unit = columns / np.where(norms > 0, norms, 1.0)
    weight = np.max(np.abs(null), axis=1) if null.size else np.zeros(len(names))
    involved = [i for i, w in enumerate(weight) if w > 0.1]
    found = []
    for i in involved:
        if norms[i] == 0:          # exact derivatives: no effect is an exactly zero column
            found.append({"param": names[i], "reason": "no_effect", "with": []})
            continue
        cosines = np.abs(unit.T @ unit[:, i])
        partners = [names[j] for j in involved if j != i and cosines[j] >= COLLINEAR and norms[j] > 0]
        if partners:
            found.append({"param": names[i], "reason": "collinear", "with": partners[:1]})
            continue
        values = np.abs(columns[:, i])
        nonzero = values[values > 0]
        span = float(nonzero.max() / nonzero.min()) if nonzero.size else 1.0
        spread = float(norms.max() / max(norms[norms > 0].min(), 1e-300))
        if span > SPAN_FOR_SCALING or spread > SPAN_FOR_SCALING ** 2:
            found.append({"param": names[i], "reason": "scaling", "with": [], "span": span})
        else:
            partners = [names[j] for j in involved if j != i]
            found.append({"param": names[i], "reason": "combination", "with": partners[:MAX_NAMED]})
    return found


def _explain(found: list[dict]) -> list[str]:
    """One warning per reason, naming at most MAX_NAMED parameters."""
    lines = []
    by_reason: dict[str, list[dict]] = {}
    for item in found:
        by_reason.setdefault(item["reason"], []).append(item)
    for reason, items in by_reason.items():
        names = names_with_count([u["param"] for u in items])
        if reason == "no_effect":
            lines.append(f"{names} cannot be determined: the predictions do not change with them (no effect)")
        elif reason == "collinear":
            pairs = names_with_count([f"{u['param']} with {u['with'][0]}" for u in items])
            lines.append(f"cannot be determined: perfectly correlated parameters ({pairs}); only their "
                         f"combination is fixed by the data")
        elif reason == "scaling":
            span = max(u.get("span", 1.0) for u in items)
            lines.append(f"{names} cannot be determined as the inputs are scaled: their columns span "
                         f"a factor of {span:.0e} (many orders of magnitude); centre and scale the input columns (or set "
                         f"model.standardize: true for a linear, logistic or polynomial model) and fit again")
        elif reason == "combination":
            lines.append(f"{names} cannot be determined: a combination of them has no effect on the predictions")
    return lines


def _inverse_least_squares(jacobian: np.ndarray, names: list[str]):
    """(JᵀJ)⁻¹ from the equilibrated J's SVD; or None and why each parameter is undetermined."""
    scaled, d = _equilibrated(jacobian)
    _, sigma, vt = np.linalg.svd(scaled, full_matrices=False)
    if sigma.size == 0 or sigma[0] == 0:
        return None, [{"param": n, "reason": "no_effect", "with": []} for n in names]
    small = sigma < SINGULAR_RCOND * sigma[0]
    if np.any(small):
        return None, _classify(jacobian, vt[small].T, names)
    inner = (vt.T / sigma ** 2) @ vt
    return inner / np.outer(d, d), []


def _inverse_symmetric(h: np.ndarray, names: list[str]):
    """H⁻¹ from the equilibrated H's eigen-decomposition; or None and why."""
    diag = np.sqrt(np.abs(np.diag(h)))
    d = np.where(diag > 0, diag, 1.0)
    scaled = 0.5 * (h + h.T) / np.outer(d, d)
    eigval, eigvec = np.linalg.eigh(scaled)
    top = np.max(np.abs(eigval)) if eigval.size else 0.0
    bad = eigval <= SINGULAR_RCOND ** 2 * max(top, 1e-300) * 1e6
    if top == 0 or np.any(bad):
        # H = CᵀC with C = √Λ·Vᵀ·D: C's columns play the Jacobian's part in the classification
        columns = (np.sqrt(np.clip(eigval, 0.0, None))[:, None] * eigvec.T) * d[None, :]
        return None, _classify(columns, eigvec[:, bad], names) or [
            {"param": n, "reason": "combination", "with": []} for n in names]
    return (eigvec / eigval) @ eigvec.T / np.outer(d, d), []


def estimate(names: list[str], values: np.ndarray, n_rows: int, *, jacobian: np.ndarray | None = None,
             weights: np.ndarray | None = None, residuals: np.ndarray | None = None,
             hessian: np.ndarray | None = None, loss_sum: float | None = None, likelihood: bool = False,
             at_bound: list[str] = (), no_effect: list[str] = ()) -> Uncertainty:
    """Uncertainties of the free parameters ``names`` at ``values``.

    Give ``jacobian`` (model output w.r.t. parameters, n×p) and ``residuals`` for least squares,
    or ``hessian`` of the summed loss (with ``loss_sum``; ``likelihood`` for cross-entropy).
    Parameters in ``at_bound``, and those in ``no_effect`` (a move of their own size changes no
    prediction: ``workbench.pipeline.degenerate``), are excluded and reported.
    """
    p = len(names)
    dof = n_rows - p
    t_value = t_quantile(0.975, dof) if dof > 0 else float("inf")
    bound = set(at_bound)
    flat = [{"param": n, "reason": "no_effect", "with": []} for n in no_effect if n not in bound]
    excluded = bound | {u["param"] for u in flat}
    keep = [i for i, n in enumerate(names) if n not in excluded]
    kept_names = [names[i] for i in keep]
    warnings = ["no standard error for " + names_with_count(list(at_bound)) + ": at a bound"] if at_bound else []
    warnings += _explain(flat)
    undetermined = [{"param": n, "reason": "at_bound", "with": []} for n in at_bound] + flat
    cov_kept, found = None, []
    try:
        if dof <= 0:
            warnings.append(f"uncertainties cannot be estimated: {n_rows} rows for {p} parameters")
        elif not keep:
            pass                     # every parameter is at a bound or without effect: nothing to estimate
        elif jacobian is not None:
            w = np.sqrt(weights)[:, None] if weights is not None else 1.0
            matrix = jacobian[:, keep] * w
            if not np.all(np.isfinite(matrix)):
                raise np.linalg.LinAlgError("the Jacobian has NaN or infinite entries")
            inv, found = _inverse_least_squares(matrix, kept_names)
            if inv is not None:
                r = residuals if weights is None else residuals * np.sqrt(weights)
                cov_kept = inv * float(np.sum(r * r)) / dof
        elif hessian is not None:
            matrix = hessian[np.ix_(keep, keep)]
            if not np.all(np.isfinite(matrix)):
                raise np.linalg.LinAlgError("the Hessian has NaN or infinite entries")
            inv, found = _inverse_symmetric(matrix, kept_names)
            if inv is not None:
                cov_kept = inv if likelihood else inv * 2.0 * float(loss_sum) / dof
    except (np.linalg.LinAlgError, ValueError, FloatingPointError) as err:
        warnings.append(f"uncertainties could not be computed: {err}")
        cov_kept, found = None, []
    if found:
        warnings += ["the covariance matrix is singular: " + line for line in _explain(found)]
        undetermined += found
    source = "jacobian" if jacobian is not None else "hessian" if hessian is not None else "none"
    return _assemble(names, values, keep, cov_kept, t_value, dof, warnings, undetermined, source)


def _assemble(names, values, keep, cov_kept, t_value, dof, warnings, undetermined, source) -> Uncertainty:
    p = len(names)
    stderr = np.full(p, np.nan)
    cov = corr = None
    if cov_kept is not None and np.all(np.isfinite(cov_kept)):
        cov = np.full((p, p), np.nan)
        cov[np.ix_(keep, keep)] = cov_kept
        stderr[keep] = np.sqrt(np.clip(np.diag(cov_kept), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(stderr, stderr)
    half = t_value * stderr
    return Uncertainty(list(names), stderr, cov, corr, values - half, values + half, t_value, dof,
                       warnings, undetermined, source)


def on_original_scale(model, values: np.ndarray, unc: Uncertainty) -> tuple[np.ndarray, Uncertainty, dict | None]:
    """What is reported: the values and uncertainties as fitted, or for a model fitted on
    standardized inputs (``standardize: true``) their exact linear transform to the original
    scale, θ = A·θ_z and Σ = A·Σ_z·Aᵀ, with the fitted values and the covariance for result.json."""
    matrix = model.original_scale_matrix()
    if matrix is None:
        return values, unc, None
    shown = matrix @ np.asarray(values, dtype=float)
    stderr = np.full(len(shown), np.nan)
    cov = corr = None
    if unc.covariance is not None and np.all(np.isfinite(unc.covariance)):
        cov = matrix @ unc.covariance @ matrix.T
        stderr = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = cov / np.outer(stderr, stderr)
    half = unc.t_value * stderr
    original = Uncertainty(list(unc.names), stderr, cov, corr, shown - half, shown + half, unc.t_value, unc.dof,
                           list(unc.warnings), list(unc.undetermined), unc.source)
    block = {"inputs": {name: {"mean": float(m), "scale": float(s)}
                        for name, m, s in zip(model.inputs, model.x_mean, model.x_scale)},
             "fitted_params": {name: float(v) for name, v in zip(unc.names, values)},
             "covariance": None if cov is None else [[float(v) for v in row] for row in cov]}
    return shown, original, block
