"""Points where a derivative does not exist: kinks (abs at 0, ties of max and min) and
singularities (sqrt at 0, where the derivative is infinite).

There a rule cannot agree with numeric differences of its own forward, and neither can the
total: central differences across a kink average its two slopes. A wrong rule disagrees
everywhere, a kink only where it is, so a kinked primitive's failure is looked at again a little
away from the point; a derivative that is infinite or undefined where the value is finite is
the function's, not the rule's. Neither ever names a primitive as wrong.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Callable
from dataclasses import dataclass, field

from workbench.engine.numdiff import DISAGREES
from workbench.pipeline.check_verdict import ATOL, INCONCLUSIVE, RTOL, DerivativeRow

KINKED = ("abs", "relu", "maximum", "minimum", "clip")   # derivative undefined where the input is at the kink
KINK_SHIFT = 1e-3                                          # relative move off a kink, to look again


@dataclass
class NodeEvidence:
    """What the per-node check says at one point, kinks and singularities set apart."""

    rules: int = 0                                       # node rules checked
    failures: list[dict] = field(default_factory=list)   # the disagreements of wrong rules
    failing: list[str] = field(default_factory=list)     # primitives whose rule is wrong
    kinked: bool = False                                 # the graph has a kinked primitive
    singular: list[str] = field(default_factory=list)    # primitives whose derivative is infinite here


def node_evidence(node_report: Callable[[np.ndarray], object], x: np.ndarray) -> NodeEvidence:
    """Each node's rule against its own forward at ``x`` (``node_report(x)``: the engine's
    ``check_nodes`` of the loss there, or None when the loss has no graph).

    A rule whose derivative is infinite or undefined where it disagrees (sqrt at 0) meets a
    singularity of the function, not a mistake. A rule of a kinked primitive (abs at 0, as an mae
    fit's residuals sit at its optimum) that disagrees there is looked at again a little away
    from the kink: a wrong rule disagrees everywhere, a kink only where it is."""
    nodes = node_report(x)
    if nodes is None:
        return NodeEvidence()
    wrong = [c for c in nodes.checks if not c.passed and (c.error is not None or np.isfinite(c.analytic))]
    infinite = [c for c in nodes.checks if not c.passed and c.error is None and not np.isfinite(c.analytic)]
    failing = list(dict.fromkeys(c.primitive for c in wrong))
    if failing and set(failing) <= set(KINKED):
        shifted = x * (1.0 + KINK_SHIFT * np.cos(np.arange(len(x)) + 1.0)) + KINK_SHIFT * np.sin(np.arange(len(x)))
        again = node_report(shifted)
        failing = [name for name in failing if again is None or name in again.failed_nodes]
    failures = [{"position": c.position, "primitive": c.primitive, "input": c.input_index,
                 "analytic": c.analytic, "numeric": c.numeric, "abs_error": c.abs_error, "error": c.error}
                for c in wrong if c.primitive in failing]
    singular = list(dict.fromkeys(c.primitive for c in infinite))
    return NodeEvidence(len(nodes.checks), failures, failing, any(c.primitive in KINKED for c in nodes.checks),
                        singular)


def kink_is_inconclusive(rows: list[DerivativeRow]) -> None:
    """Central differences across a kink average its two slopes with a tiny error estimate: where
    the exact evidence agrees, such a numeric disagreement decides nothing (inconclusive)."""
    for r in rows:
        if r.numeric_verdict == DISAGREES and r.exact_agrees:
            r.numeric_verdict, r.passed, r.score = INCONCLUSIVE, True, min(r.score, 1.0)


def singularity_is_inconclusive(rows: list[DerivativeRow]) -> None:
    """Where a derivative is infinite, forward mode meets 0·∞ and numeric differences step out of
    the function's domain: a row that disagrees there decides nothing."""
    for r in rows:
        if not r.passed:
            r.numeric_verdict, r.passed, r.exact_agrees = INCONCLUSIVE, True, True
            r.score = min(r.score, 1.0) if np.isfinite(r.score) else 1.0


def direction_is_inconclusive(direction: dict, singular: bool) -> None:
    """The random-direction comparison at a kink (when forward and reverse mode agree) or at a
    singularity decides nothing either."""
    if not direction or direction["passed"]:
        return
    forward, reverse = direction.get("forward", 0.0), direction.get("reverse", 0.0)
    if singular or abs(forward - reverse) <= ATOL + RTOL * abs(reverse):
        direction.update(passed=True, numeric_verdict=INCONCLUSIVE)
