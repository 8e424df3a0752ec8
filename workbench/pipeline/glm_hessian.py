"""The exact Hessian of a logistic regression's loss as one weighted product, no engine sweeps.

For cross-entropy on logits, row i contributes wᵢ·(softplus(ηᵢ) − yᵢ·ηᵢ) to the summed loss. Its
derivatives in the logit are wᵢ·(pᵢ − yᵢ) and wᵢ·pᵢ(1 − pᵢ), p = σ(η): the link is canonical, so
the target drops out of the second. When the logit is linear in the parameters θ (the built-in
logistic model, η = intercept + Σ coef·x, or a formula linear in its parameters), ∂²η/∂θ² = 0 and

    H = Jᵀ · diag(w·p·(1 − p)) · J,     J = ∂η/∂θ (the design: one row per data row),

exactly (the observed and the expected information coincide). That is O(rows · p²) multiply-adds
in one matrix product, where the engine's Hessian (forward over reverse) pushes p tangents through
every operation of the loss and its gradient. Everything else (other losses, probabilities instead
of logits, logits nonlinear in θ, an MLP) keeps the engine's exact Hessian.
"""

from __future__ import annotations

import numpy as np


def applies(model, loss) -> bool:
    """True when ``loss`` is cross-entropy on logits and ``model``'s logit is linear in its
    parameters (the logistic model's is, though it keeps ``linear_in_params`` off so that no
    least-squares closed form is tried on it)."""
    linear_logit = model.kind == "logistic" or bool(getattr(model, "linear_in_params", False))
    return loss.name == "cross_entropy" and loss.from_logits and linear_logit


def logistic_curvature(logits: np.ndarray) -> np.ndarray:
    """p·(1 − p) with p = σ(η), written as e/(1 + e)² with e = exp(−|η|): no overflow, and no
    cancellation to 0 where p rounds to 1."""
    e = np.exp(-np.abs(logits))
    return e / ((1.0 + e) * (1.0 + e))


def logit_hessian(design: np.ndarray, logits: np.ndarray, weights: np.ndarray | None, scale: float) -> np.ndarray:
    """``scale`` · Jᵀ·diag(w·p·(1 − p))·J for the rows of ``design`` (J, n × p) at ``logits`` (η)."""
    curvature = logistic_curvature(np.asarray(logits, dtype=float)) * scale
    if weights is not None:
        curvature = curvature * weights
    hessian = design.T @ (design * curvature[:, None])
    return 0.5 * (hessian + hessian.T)
