"""Fits that end where there is nothing to estimate, told apart from convergence.

An optimizer stops when the gradient vanishes. Two kinds of point make it vanish without a best
fit being there, and the fit must not then say "converged":

* **A plateau.** ``a * exp(b * price)`` with b = −4.5 predicts 0 on every row: exp underflows,
  the prediction no longer changes with any parameter, so the gradient is ~0 however bad the fit
  (R² −2.9). A parameter is *flat* when moving it by its own size (or by 1, when it is smaller)
  changes the predictions by less than ``FLAT_RTOL`` of the target's spread. Flat parameters are
  undetermined (``no_effect``); when every parameter is flat the run is ``stalled`` on a plateau.

* **Separation** of a 0/1 target. When a threshold on an input (or a combination of inputs)
  puts every 1 on one side and every 0 on the other, the likelihood keeps rising as the
  coefficients grow: the maximum-likelihood coefficients are infinite, and where the optimizer
  stops is arbitrary (QA saw an intercept of 1,463 ± 5.8e7 one run and 5.8e7 the next).
  statsmodels raises ``PerfectSeparationError`` when every fitted probability equals its label
  (``np.allclose(fitted, y)``); we use the same test, with ``SEPARATED_ATOL`` as the tolerance.
  The status is then ``separated``, no standard errors are given, and every parameter is listed
  as undetermined with reason ``separation``. A constant 0/1 target never gets here: ``prepare``
  refuses it (exit 2).

``judge(prepared, x, prediction, target)`` returns a ``Degenerate`` that ``results`` applies to
the optimizer's result and to the uncertainties.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from workbench.errors import InputError

FLAT_RTOL = 1e-10          # a prediction change below this share of the target's spread is no change
SEPARATED_ATOL = 1e-4      # every |probability − label| below this: the classes are separated
FLAT_SAMPLE_ROWS = 1000    # flatness is judged on this many evenly spaced rows
FLAT_MAX_PARAMS = 300      # ... for models of at most this many parameters (a network is never flat everywhere)
SEPARATED = "separated"
STALLED = "stalled"


@dataclass
class Degenerate:
    """What ``judge`` found: flat parameters, and the inputs that separate a 0/1 target."""

    flat: list[str] = field(default_factory=list)
    all_flat: bool = False
    separated_by: list[str] | None = None      # None: not separated; []: by a combination of inputs

    @property
    def separated(self) -> bool:
        return self.separated_by is not None

    def separation_text(self) -> str:
        return ", ".join(self.separated_by) if self.separated_by else "a combination of the inputs"

    def relabel(self, opt):
        """The optimizer's result, no longer "converged" at a plateau or under separation."""
        if self.separated and opt.status not in ("diverged", "interrupted", "timeout"):
            message = (f"the data are perfectly separated by {self.separation_text()}; the maximum-likelihood "
                       f"coefficients are infinite, so the values where the optimizer stopped ({opt.message}) "
                       f"are not estimates")
            return dataclasses.replace(opt, success=False, status=SEPARATED, message=message)
        if self.all_flat and opt.status == "converged":
            message = (f"flat: the model's prediction does not change with any parameter here, so the vanishing "
                       f"gradient is a plateau, not a best fit ({opt.message}); try other starting values under "
                       f"params, a smaller optimizer.lr, or lm")
            return dataclasses.replace(opt, success=False, status=STALLED, message=message)
        return opt

    def apply(self, unc, names: list[str]):
        """Separation: no standard errors, every parameter undetermined (the values are arbitrary)."""
        if not self.separated:
            return unc
        from workbench.pipeline import uncertainty

        plain = uncertainty.estimate(names, np.zeros(len(names)), 0)
        why = (f"no standard errors: the data are perfectly separated by {self.separation_text()}, so the "
               f"coefficients have no finite estimate")
        return dataclasses.replace(unc, stderr=plain.stderr, covariance=None, correlation=None,
                                   ci_low=plain.stderr, ci_high=plain.stderr, warnings=[why],
                                   undetermined=[{"param": n, "reason": "separation", "with": list(self.separated_by)}
                                                 for n in names])

    def result_entry(self) -> dict | None:
        """result.json's ``separation`` (None when the classes are not separated)."""
        if not self.separated:
            return None
        return {"by": list(self.separated_by), "kind": "complete"}


def judge(prepared, x: np.ndarray, prediction: np.ndarray, target: np.ndarray, names: list[str], *,
          separation: tuple[bool, list[str]] | None = None) -> Degenerate:
    """Flat parameters and separation at the fitted point ``x`` (see the module docstring).
    ``separation``: (separated, the separating inputs) already judged on rows that ``prediction``
    does not hold (a cluster fit's whole table, ``dask_results``) instead of judged here."""
    found = Degenerate()
    if not np.all(np.isfinite(x)) or len(target) == 0:
        return found
    if separation is None:
        separated = _binary(prepared) and _separated(prediction, target)
        separation = (separated, _separating_inputs(prepared, target) if separated else [])
    if separation[0]:
        found.separated_by = list(separation[1])
        return found
    found.flat = _flat_parameters(prepared, x, target, names)
    found.all_flat = bool(names) and len(found.flat) == len(names)
    return found


def _binary(prepared) -> bool:
    return bool(prepared.model.binary or getattr(prepared.loss, "name", "") == "cross_entropy")


def _separated(probability: np.ndarray, target: np.ndarray) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(probability - target) < SEPARATED_ATOL))


def _separating_inputs(prepared, target: np.ndarray) -> list[str]:
    """The inputs on which a threshold alone puts every 1 on one side and every 0 on the other."""
    columns = prepared.objective.columns
    ones, zeros = target >= 0.5, target < 0.5
    found = []
    for name in prepared.model.inputs:
        values = np.asarray(columns.get(name, []), dtype=float)
        if values.shape != target.shape or not np.all(np.isfinite(values)):
            continue
        if values[ones].min() > values[zeros].max() or values[ones].max() < values[zeros].min():
            found.append(name)
    return found


def _flat_parameters(prepared, x: np.ndarray, target: np.ndarray, names: list[str]) -> list[str]:
    """Parameters whose own-sized move changes no prediction by more than FLAT_RTOL of the spread."""
    from workbench import engine as ad
    from workbench.pipeline.check_rows import on_row_sample

    if len(x) > FLAT_MAX_PARAMS:
        return []
    spread = float(np.sqrt(np.mean((target - np.mean(target)) ** 2))) or float(np.sqrt(np.mean(target ** 2)))
    if spread == 0:
        return []
    sample, _ = on_row_sample(prepared, FLAT_SAMPLE_ROWS)
    try:
        with np.errstate(all="ignore"):
            jacobian = np.asarray(sample.objective.model_jacobian(x), dtype=float)
    except (ad.EngineError, InputError, FloatingPointError, ValueError, MemoryError):
        return []           # a judgement that cannot be made claims nothing
    if not np.all(np.isfinite(jacobian)):
        return []
    moves = np.max(np.abs(jacobian), axis=0) * np.maximum(np.abs(x), 1.0)
    return [n for n, m in zip(names, moves) if m <= FLAT_RTOL * spread]
