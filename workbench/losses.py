"""Losses: how far predictions are from the data, as engine expressions.

Each loss is a mean (or sum) over rows of a per-row penalty ρ(r) of the residual r = actual −
prediction (every ρ here is symmetric, so the sign never matters), optionally weighted per row.
Least-squares losses (mse, sse) also expose their residual vector, which is what
Levenberg–Marquardt works on; the others are minimised through their gradient.

Numerical care: cross-entropy on logits is written as softplus(z) − y·z, which never takes the
log of a number that rounded to 0; log-cosh as |r| + softplus(−2|r|) − ln 2, which never
evaluates cosh of a large number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.errors import InputError, did_you_mean

LOSSES = ("mse", "sse", "mae", "huber", "soft_l1", "log_cosh", "cross_entropy")
LEAST_SQUARES = ("mse", "sse")
_LN2 = float(np.log(2.0))


@dataclass(frozen=True)
class Loss:
    """A loss by name with its options; ``__call__`` gives the engine expression."""

    name: str = "mse"
    delta: float = 1.0
    l1: float = 0.0
    l2: float = 0.0
    from_logits: bool = True
    standardize: bool = False   # the penalty is on coefficients times their input's spread

    @property
    def is_least_squares(self) -> bool:
        """True when the loss is a (scaled) sum of squared residuals and nothing else."""
        return self.name in LEAST_SQUARES and self.l1 == 0.0 and self.l2 == 0.0

    def scale(self, n: int) -> float:
        """Factor with loss = scale · Σ wᵢ rᵢ² for least squares (mse averages, sse sums)."""
        return 1.0 / n if self.name == "mse" else 1.0

    def per_row(self, prediction, target):
        """ρ for each row (an engine expression)."""
        from workbench import engine as ad

        if self.name == "cross_entropy":
            if self.from_logits:
                return ad.softplus(prediction) - target * prediction
            p = ad.clip(prediction, 1e-15, 1.0 - 1e-15)
            return -(target * ad.log(p) + (1.0 - target) * ad.log(1.0 - p))
        r = prediction - target
        if self.name in LEAST_SQUARES:
            return r * r
        if self.name == "mae":
            return ad.abs(r)
        if self.name == "huber":
            # ½·min(|r|, δ)² + δ·(|r| − min(|r|, δ)): quadratic inside δ, linear outside, written
            # without a comparison mask so a recorded tape recomputes the switch on every replay.
            a = ad.abs(r)
            inside = ad.minimum(a, self.delta)
            return 0.5 * inside * inside + self.delta * (a - inside)
        if self.name == "soft_l1":
            return 2.0 * self.delta ** 2 * (ad.sqrt(1.0 + (r / self.delta) ** 2) - 1.0)
        if self.name == "log_cosh":
            a = ad.abs(r)
            return a + ad.softplus(-2.0 * a) - _LN2
        raise InputError(f"unknown loss {self.name!r}{did_you_mean(self.name, LOSSES)}", where="loss.name")

    def __call__(self, prediction, target, weights=None, flat_params=()):
        """The total loss: the rows' mean (sum for sse) plus the regularisation penalty.

        ``flat_params`` are the penalized values: the caller leaves out the offsets (intercepts)
        and, with ``standardize``, passes each coefficient times its input's spread.
        """
        from workbench import engine as ad

        rho = self.per_row(prediction, target)
        if weights is not None:
            rho = rho * weights
        total = ad.sum(rho) if self.name == "sse" else ad.mean(rho)
        return self.penalty(flat_params, total)

    def penalty(self, flat_params, total=0.0):
        """``total`` plus l1·Σ|p| + l2·Σp² over the penalized values (see ``__call__``)."""
        from workbench import engine as ad

        for p in flat_params:
            if self.l1:
                total = total + self.l1 * ad.sum(ad.abs(p))
            if self.l2:
                total = total + self.l2 * ad.sum(p * p)
        return total


def build_loss(loss_cfg) -> Loss:
    """A ``Loss`` from the config's loss section (name, delta, l1, l2, from_logits)."""
    name = loss_cfg.name
    if name not in LOSSES:
        raise InputError(f"unknown loss {name!r}{did_you_mean(name, LOSSES)}", where="loss")
    return Loss(name=name, delta=float(loss_cfg.delta or 1.0), l1=float(loss_cfg.l1 or 0.0),
                l2=float(loss_cfg.l2 or 0.0),
                from_logits=True if loss_cfg.from_logits is None else bool(loss_cfg.from_logits),
                standardize=bool(getattr(loss_cfg, "standardize", False)))
