"""The verdict of a gradient check: what was compared at each point, and what it adds up to.

``DerivativeRow`` is one derivative by every method, ``PointCheck`` every comparison at one
parameter vector, ``CheckReport`` the whole check with its one verdict ("verified", "failed",
"inconclusive", "not_run") and the English line that says why (``detail``), which result.json,
the console and every report show. How the numbers are obtained is ``workbench.pipeline.check``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from workbench.engine.numdiff import AGREES
from workbench.pipeline.results import finite_or_none

RTOL = 1e-5               # |reverse − numeric| ≤ ATOL + RTOL·|numeric|, in natural units
ATOL = 1e-6
NODE_ATOL, NODE_RTOL = 1e-5, 1e-3     # per-node rules: torch.autograd.gradcheck's float64 defaults
POINT_LABELS = {"init": "the starting point", "fit": "the fitted point"}
VERIFIED, FAILED, INCONCLUSIVE, NOT_RUN = "verified", "failed", "inconclusive", "not_run"


@dataclass
class DerivativeRow:
    """One derivative by every method, in the user's units; ``row`` is set for Jacobian entries."""

    parameter: str
    reverse: float
    forward: float
    central: float
    richardson: float | None
    abs_error: float
    rel_error: float
    score: float           # the larger error in units of the allowed one: ≤ 1 passes
    passed: bool
    row: int | None = None
    numeric_error: float | None = None   # the numeric estimate's own error estimate, user units
    numeric_verdict: str = AGREES        # "agrees", "disagrees" or "inconclusive"
    exact_agrees: bool = True            # forward mode agrees with reverse mode


@dataclass
class PointCheck:
    """Every check at one parameter vector."""

    at: str                                   # "init" or "fit"
    loss: float
    n_params: int
    gradient: list[DerivativeRow]
    jacobian: list[DerivativeRow]
    direction: dict                           # forward mode along a random direction
    node_rules: int                           # node rules checked
    node_failures: list[dict] = field(default_factory=list)
    failing_primitives: list[str] = field(default_factory=list)
    non_differentiable: list[str] = field(default_factory=list)   # primitives with an infinite derivative here

    @property
    def label(self) -> str:
        return POINT_LABELS.get(self.at, self.at)

    @property
    def passed(self) -> bool:
        """Nothing disagrees (an inconclusive numeric estimate is not a failure)."""
        return (all(r.passed for r in self.gradient) and all(r.passed for r in self.jacobian)
                and bool(self.direction.get("passed", True)) and not self.failing_primitives)

    @property
    def inconclusive_parameters(self) -> list[str]:
        """Parameters no numeric estimate confirmed (of the gradient or of any sampled Jacobian row)."""
        confirmed = {r.parameter for r in self.gradient + self.jacobian if r.numeric_verdict == AGREES}
        return [r.parameter for r in self.gradient if r.parameter not in confirmed]

    @property
    def verdict(self) -> str:
        if not self.passed:
            return FAILED
        return INCONCLUSIVE if self.inconclusive_parameters or self.non_differentiable else VERIFIED

    @property
    def failed_derivatives(self) -> list[DerivativeRow]:
        return [r for r in self.gradient + self.jacobian if not r.passed]

    @staticmethod
    def worst(rows: list[DerivativeRow]) -> float:
        """The largest error in units of the tolerance (≤ 1 passes)."""
        return max((r.score for r in rows), default=0.0)


@dataclass
class CheckReport:
    """The result of a gradient check: points checked, tolerances, overall verdict."""

    name: str
    points: list[PointCheck]
    rows_sampled: int
    compact: bool = False
    loss_rows: int | None = None      # the loss was checked on this many evenly spaced rows ...
    of_rows: int | None = None        # ... of this many (None: on every row)

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.points)

    @property
    def failing_primitives(self) -> list[str]:
        return list(dict.fromkeys(name for p in self.points for name in p.failing_primitives))

    @property
    def non_differentiable(self) -> list[str]:
        """Primitives whose derivative is infinite or undefined at some point checked (sqrt at 0)."""
        return list(dict.fromkeys(name for p in self.points for name in p.non_differentiable))

    @property
    def inconclusive_parameters(self) -> list[str]:
        """Parameters no numeric estimate confirmed at any point checked (the rules are the same)."""
        unconfirmed = [set(p.inconclusive_parameters) for p in self.points]
        ordered = dict.fromkeys(name for p in self.points for name in p.inconclusive_parameters)
        return [name for name in ordered if all(name in u for u in unconfirmed)]

    @property
    def verdict(self) -> str:
        """One of "verified", "failed", "inconclusive", "not_run" (see the module docstring)."""
        if not self.points:
            return NOT_RUN
        if not self.passed:
            return FAILED
        return INCONCLUSIVE if self.inconclusive_parameters or self.non_differentiable else VERIFIED

    def detail(self) -> str:
        """The verdict in one English line, from the numbers of the check; a failure names only
        the points where something disagreed."""
        where = " and ".join(p.label for p in self.points)
        if self.verdict == FAILED:
            return _failure_detail(self)
        exact = (f"reverse and forward mode agree and {sum(p.node_rules for p in self.points)} node rules "
                 f"match their own forward at {where}")
        singular = [p for p in self.points if p.non_differentiable]
        if singular:
            return (f"the function is not differentiable at {' and '.join(p.label for p in singular)}: the "
                    f"derivative of {', '.join(self.non_differentiable)} is infinite or undefined there, so "
                    f"no check can confirm it; no derivative rule is wrong")
        if self.verdict == INCONCLUSIVE:
            return (f"no derivative disagrees ({exact}), but numeric differences are too noisy to confirm "
                    f"the derivatives of {_names(self.inconclusive_parameters)}")
        return f"every derivative checked agrees: {exact}, and numeric differences confirm the derivative of every parameter"

    def sample_note(self) -> str:
        if self.loss_rows is None:
            return ""
        return f" (the loss on a fixed sample of {self.loss_rows:,} evenly spaced rows of the {self.of_rows:,})"

    def summary(self) -> dict:
        """The ``gradient_check`` entry of result.json: the one verdict every output shows."""
        summary = {"verdict": self.verdict, "failed_primitives": self.failing_primitives,
                   "inconclusive_parameters": self.inconclusive_parameters,
                   "detail": self.detail() + self.sample_note()}
        if self.non_differentiable:
            summary["non_differentiable"] = self.non_differentiable
        if self.loss_rows is not None:
            summary.update(loss_rows=self.loss_rows, of_rows=self.of_rows)
        return summary

    def to_json(self) -> dict:
        def clean(value):
            if isinstance(value, float):
                return finite_or_none(value)
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        points = [dict(clean(asdict(p)), label=p.label, passed=p.passed, verdict=p.verdict,
                       inconclusive_parameters=p.inconclusive_parameters) for p in self.points]
        return {"name": self.name, "passed": self.passed, "compact": self.compact, **self.summary(),
                "failing_primitives": self.failing_primitives, "tolerance": tolerance_statement(),
                "rows_sampled": self.rows_sampled, "points": points}


MAX_NAMED = 8


def _names(names: list[str]) -> str:
    """At most MAX_NAMED names, then how many more."""
    shown = ", ".join(names[:MAX_NAMED])
    return shown if len(names) <= MAX_NAMED else f"{shown} and {len(names) - MAX_NAMED} more"


def _failure_detail(report: "CheckReport") -> str:
    failed = [p for p in report.points if not p.passed]
    if report.failing_primitives:
        where = " and ".join(p.label for p in failed if p.failing_primitives)
        return f"the derivative rule of {', '.join(report.failing_primitives)} disagrees with its own forward at {where}"
    where = " and ".join(p.label for p in failed)
    rows = [r for p in failed for r in p.failed_derivatives]
    exact = [r.parameter for r in rows if not r.exact_agrees]
    if exact:
        return (f"forward and reverse mode disagree on the derivatives of {_names(list(dict.fromkeys(exact)))} "
                f"at {where}")
    if rows:
        names = list(dict.fromkeys(r.parameter for r in rows))
        return f"numeric differences confidently disagree with the derivatives of {_names(names)} at {where}"
    return f"forward mode disagrees with reverse mode along a random direction at {where}"


def tolerance_statement() -> dict:
    """The tolerances, as numbers and in words (shown in every report)."""
    return {"rtol": RTOL, "atol": ATOL, "node_rtol": NODE_RTOL, "node_atol": NODE_ATOL,
            "text": (f"a derivative agrees when |reverse − numeric| ≤ {ATOL:g} + {RTOL:g}·|numeric| plus "
                     f"three times the numeric estimate's own error, and forward mode agrees with reverse "
                     f"mode as closely, both measured for loss/max(1, |loss|) (or prediction/max(1, "
                     f"|prediction|)) against each parameter in its natural length (the step over which "
                     f"that changes by about 1); numeric is Ridders' extrapolation of central differences, "
                     f"with an error estimate; an estimate whose error exceeds its value is inconclusive "
                     f"and decides nothing; each node's rule is checked against its own forward with "
                     f"|analytic − numeric| ≤ {NODE_ATOL:g} + {NODE_RTOL:g}·|numeric|")}
