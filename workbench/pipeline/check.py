"""The gradient check of a fit: are the derivatives the optimizer used right?

``run_check(config, out_dir, at, rows)`` is ``workbench check``; ``fit_gradient_checks(outcome)``
is the compact version every ``workbench fit`` report shows. At each point checked (the start
``x0``, the fitted ``x``, or both) it compares, for the loss's gradient with respect to every
free parameter and for the model's Jacobian on a sample of data rows:

* the engine's reverse mode (what the optimizers use),
* its forward mode (an independent implementation of every rule),
* central differences and a Richardson-extrapolated estimate (``workbench.engine.gradcheck``),

and then checks every recorded node of the loss's graph on its own (``ad.check_nodes``) so
that a wrong rule is named by its primitive instead of merely making the total wrong.

Why derivatives are compared in natural units. Near the optimum the gradient is close to zero,
and a parameter such as the x⁵ coefficient of a polynomial over day numbers moves the loss by
10¹⁹ per unit: a tolerance in the user's units would either pass anything or fail a correct
gradient. We check ∂φ/∂w with φ = output / max(1, |output|) and w the parameter measured in its
natural length there (the distance over which φ changes by about 1, from the exact slope and the
curvature; ``workbench.engine.numdiff``), which is unit-free; the tables show every number
converted back to the user's units.

Verdicts. The exact evidence decides first: a per-node rule that disagrees with its own forward,
or forward mode that disagrees with reverse mode, is a failure. Numeric estimates carry their own
error estimate: one that confidently disagrees is a failure too; one whose error is larger than
the value is "inconclusive" and decides nothing. A check is "verified" when nothing failed and
every parameter's derivative was confirmed by at least one numeric estimate (of the loss's
gradient or of the model's Jacobian on a sampled row), "inconclusive" when nothing failed but some
parameter's derivatives were confirmed by none (they are listed), and "failed" otherwise.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from workbench import engine as ad
from workbench.engine.numdiff import AGREES, DISAGREES, natural_length
from workbench.errors import InputError
from workbench.pipeline.results import finite_or_none, scalar_names

RTOL = 1e-5               # |reverse − numeric| ≤ ATOL + RTOL·|numeric|, in natural units
ATOL = 1e-6
NODE_ATOL, NODE_RTOL = 1e-5, 1e-3     # per-node rules: torch.autograd.gradcheck's float64 defaults
DEFAULT_ROWS = 5
COMPACT_MAX_PARAMS = 20
FULL_MAX_PARAMS = 200     # `workbench check` of a network: this many evenly spaced weights, not all of them
COMPACT_BUDGET = 50_000   # a fit's own check takes the loss on fewer rows past rows × values per row this big
COMPACT_ROWS = 3
COMPACT_MAX_LOSS_ROWS = 10_000   # a fit's own check of more rows evaluates the loss on this fixed sample
AT_CHOICES = ("init", "fit", "both")
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
        return INCONCLUSIVE if self.inconclusive_parameters else VERIFIED

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
        return INCONCLUSIVE if self.inconclusive_parameters else VERIFIED

    def detail(self) -> str:
        """The verdict in one English line, from the numbers of the check."""
        where = " and ".join(p.label for p in self.points)
        if self.verdict == FAILED:
            return _failure_detail(self, where)
        exact = (f"reverse and forward mode agree and {sum(p.node_rules for p in self.points)} node rules "
                 f"match their own forward at {where}")
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


def _failure_detail(report: "CheckReport", where: str) -> str:
    if report.failing_primitives:
        return (f"the derivative rule of {', '.join(report.failing_primitives)} disagrees with its own "
                f"forward at {where}")
    rows = [r for p in report.points for r in p.failed_derivatives]
    exact = [r.parameter for r in rows if not r.exact_agrees]
    if exact:
        return f"forward and reverse mode disagree on the derivatives of {_names(list(dict.fromkeys(exact)))}"
    if rows:
        names = list(dict.fromkeys(r.parameter for r in rows))
        return f"numeric differences confidently disagree with the derivatives of {_names(names)}"
    return "forward mode disagrees with reverse mode along a random direction"


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


# ---- the scaled functions being checked ----------------------------------------------------------

def _flat_to_params(prepared, flat) -> dict:
    params = dict(prepared.objective.fixed)
    for p, s in zip(prepared.free, prepared.objective.slices):
        params[p.name] = ad.reshape(flat[s], p.shape)
    return params


def _embed(x: np.ndarray, chosen: np.ndarray, values):
    """The full parameter vector with the ``chosen`` entries (ascending) taken from the tensor
    ``values``: the constant stretches of ``x`` between them, concatenated (a network's check
    picks 20 of 66,000 weights, so nothing of size parameters × chosen is built)."""
    if len(chosen) == len(x):
        return values
    pieces, start = [], 0
    for k, i in enumerate(chosen):
        pieces += [x[start:i], values[k:k + 1]]
        start = int(i) + 1
    pieces.append(x[start:])
    return ad.concatenate(pieces)


def _scaled(prepared, x: np.ndarray, chosen: np.ndarray, output, value: float):
    """φ(v) = output(x with x[chosen] = v·s) / max(1, |value|), with s = max(1, |x[chosen]|)."""
    scale = np.maximum(1.0, np.abs(x[chosen]))
    out_scale = max(1.0, abs(value)) if np.isfinite(value) else 1.0

    def phi(v):
        return output(_embed(x, chosen, v * scale)) / out_scale
    return phi, x[chosen] / scale, scale, out_scale


def _plain(phi, v: np.ndarray) -> float:
    with ad.no_grad():
        out = phi(ad.Tensor(v))
    return float(np.asarray(getattr(out, "data", out)))


def _natural(prepared, x: np.ndarray, chosen: np.ndarray, output, value: float):
    """φ(w) of the parameters in natural lengths: ψ(w) = φ(w·L) (see the module docstring).

    Returns ψ, w₀, the user units of one w per parameter, and the output's scale."""
    phi, v0, scale, out_scale = _scaled(prepared, x, chosen, output, value)
    try:
        slopes = np.ravel(ad.grad(phi)(v0))
    except ad.EngineError:
        slopes = np.zeros(len(chosen))
    f0 = _plain(phi, v0)
    lengths = np.ones(len(chosen))
    for k in range(len(chosen)):
        basis = np.zeros(len(chosen))
        basis[k] = 1.0
        lengths[k] = natural_length(lambda t: _plain(phi, v0 + t * basis), f0, float(slopes[k]), 1.0)
    return (lambda w: phi(w * lengths)), v0 / lengths, scale * lengths, out_scale


def _rows(prepared, x, chosen, output, value, names: list[str], row=None) -> tuple[list[DerivativeRow], object]:
    """Check output's derivatives w.r.t. the chosen parameters by every method, in natural units."""
    with np.errstate(all="ignore"):
        psi, w0, unit_in, out_scale = _natural(prepared, x, chosen, output, value)
        report = ad.gradcheck(psi, w0, atol=ATOL, rtol=RTOL)
        try:
            with ad.no_grad():
                _, forward = ad.forward_jacobian(psi, w0)
            forward = np.ravel(forward)
        except ad.EngineError:     # a primitive without a forward rule: forward mode cannot agree
            forward = np.full(len(chosen), np.nan)
    rows = []
    for k, (i, check) in enumerate(zip(chosen, report.rows)):
        unit = out_scale / unit_in[k]
        numeric = check.numeric_richardson
        exact_gap = abs(forward[k] - check.analytic) / (ATOL + RTOL * abs(check.analytic))
        exact_agrees = bool(exact_gap <= 1.0)
        numeric_gap = check.abs_error / (ATOL + RTOL * abs(numeric) + 3.0 * check.numeric_error)
        score = max(numeric_gap if check.verdict == DISAGREES else min(numeric_gap, 1.0), exact_gap)
        score = float(score) if np.isfinite(score) else float("inf")
        rows.append(DerivativeRow(names[i], float(check.analytic * unit), float(forward[k] * unit),
                                  float(check.numeric_central * unit), float(numeric * unit),
                                  float(check.abs_error * unit), float(check.rel_error), score,
                                  bool(check.passed and exact_agrees), row,
                                  float(check.numeric_error * unit), check.verdict, exact_agrees))
    return rows, report.direction


def _loss_of(prepared):
    return lambda flat: prepared.objective.loss_of_flat(flat)


def _prediction_at(prepared, row: int):
    columns = {name: values[row:row + 1] for name, values in prepared.objective.columns.items()}

    def output(flat):
        # A model of parameters alone predicts one value for every row; take this row's.
        return prepared.objective.predict(_flat_to_params(prepared, flat), columns)[0]
    return output


KINKED = ("abs", "relu", "maximum", "minimum", "clip")   # derivative undefined where the input is at the kink
KINK_SHIFT = 1e-3                                          # relative move off a kink, to look again


def _node_failures(prepared, x: np.ndarray):
    phi, v0, _, _ = _scaled(prepared, x, np.arange(len(x)), _loss_of(prepared), prepared.objective.loss_value(x))
    leaf = ad.Tensor(v0, requires_grad=True)
    with np.errstate(all="ignore"), ad.enable_grad():
        out = phi(leaf)
        if not isinstance(out, ad.Tensor) or not out.requires_grad:
            return None
        return ad.check_nodes(out, atol=NODE_ATOL, rtol=NODE_RTOL)


def _node_check(prepared, x: np.ndarray) -> tuple[int, list[dict], list[str], bool]:
    """Each node's rule against its own forward. A rule of a kinked primitive (abs at 0, as an
    mae fit's residuals sit at its optimum) that disagrees there is looked at again a little
    away from the kink: a wrong rule disagrees everywhere, a kink only where it is."""
    nodes = _node_failures(prepared, x)
    if nodes is None:
        return 0, [], [], False
    kinked = any(c.primitive in KINKED for c in nodes.checks)
    failing = list(nodes.failed_nodes)
    if failing and set(failing) <= set(KINKED):
        shifted = x * (1.0 + KINK_SHIFT * np.cos(np.arange(len(x)) + 1.0)) + KINK_SHIFT * np.sin(np.arange(len(x)))
        again = _node_failures(prepared, shifted)
        failing = [name for name in failing if again is None or name in again.failed_nodes]
    failures = [{"position": c.position, "primitive": c.primitive, "input": c.input_index,
                 "analytic": c.analytic, "numeric": c.numeric, "abs_error": c.abs_error, "error": c.error}
                for c in nodes.checks if not c.passed and c.primitive in failing]
    return len(nodes.checks), failures, failing, kinked


def _kink_is_inconclusive(rows: list[DerivativeRow]) -> None:
    """Central differences across a kink average its two slopes with a tiny error estimate: where
    the exact evidence agrees, such a numeric disagreement decides nothing (inconclusive)."""
    for r in rows:
        if r.numeric_verdict == DISAGREES and r.exact_agrees:
            r.numeric_verdict, r.passed, r.score = INCONCLUSIVE, True, min(r.score, 1.0)


def evenly_spaced(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices of range(n), first and last included, deterministic."""
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=int)
    if k >= n:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def check_point(prepared, x: np.ndarray, at: str, *, rows: int = DEFAULT_ROWS,
                max_params: int | None = None) -> PointCheck:
    """Every check at ``x``: loss gradient, Jacobian on ``rows`` sampled rows, per-node rules."""
    x = np.asarray(x, dtype=float)
    chosen = evenly_spaced(len(x), len(x) if max_params is None else max_params)
    loss = prepared.objective.loss_value(x)
    names = scalar_names(prepared)
    gradient, direction = _rows(prepared, x, chosen, _loss_of(prepared), loss, names)
    jacobian = []
    row_numbers = np.asarray(prepared.dataset.row_numbers)[prepared.train_rows]
    for r in evenly_spaced(prepared.objective.n_rows, rows):
        output = _prediction_at(prepared, int(r))
        with ad.no_grad():
            value = float(np.asarray(output(ad.Tensor(x)).data))
        entries, _ = _rows(prepared, x, chosen, output, value, names, row=int(row_numbers[r]))
        jacobian += entries
    n_rules, failures, failing, kinked = _node_check(prepared, x)
    direction_dict = {} if direction is None else {
        "forward": direction.forward, "reverse": direction.reverse, "numeric": direction.numeric,
        "numeric_error": direction.numeric_error, "numeric_verdict": direction.verdict,
        "passed": bool(direction.passed), "error": direction.error}
    if kinked and not failing:
        _kink_is_inconclusive(gradient + jacobian)
        exact = abs(direction_dict.get("forward", 0.0) - direction_dict.get("reverse", 0.0)) <= \
            ATOL + RTOL * abs(direction_dict.get("reverse", 0.0))
        if direction_dict and not direction_dict["passed"] and exact:
            direction_dict.update(passed=True, numeric_verdict=INCONCLUSIVE)
    return PointCheck(at, float(loss), len(x), gradient, jacobian, direction_dict, n_rules, failures, failing)


# ---- where the fitted point comes from -----------------------------------------------------------

def fitted_point(prepared, out_dir: Path | str, otherwise: str = "use --at both, which fits first") -> np.ndarray:
    """The parameters of the last successful fit in ``out_dir`` (InputError when there is none)."""
    path = Path(out_dir) / "result.json"
    hint = f"run `workbench fit` on this config first, or {otherwise}"
    if not path.is_file():
        raise InputError(f"no fit yet (no result.json): {hint}", where=str(path))
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read the last fit's result ({err}): {hint}", where=str(path)) from None
    if result.get("status") == "diverged":
        raise InputError(f"the last fit diverged, so there is no fitted point: {hint}", where=str(path))
    values = (result.get("standardization") or {}).get("fitted_params") or result.get("params") or {}
    names = scalar_names(prepared)
    missing = [n for n in names if not isinstance(values.get(n), (int, float))]
    if missing:
        raise InputError(f"the last fit has no value for parameter {missing[0]!r} (it was made with another "
                         f"model): {hint}", where=str(path))
    return np.array([float(values[n]) for n in names])


def checked_params(prepared) -> int:
    """How many parameters a full check takes: all of a formula's, FULL_MAX_PARAMS of a network's,
    fewer when forward mode's one tangent per parameter would exceed the model size limit."""
    from workbench.models.limits import ModelLimits
    from workbench.pipeline.objective import evaluation_elements

    objective = prepared.objective
    per_tangent = max(evaluation_elements(objective.n_rows, prepared.model.values_per_row), 1)
    return max(1, min(FULL_MAX_PARAMS, ModelLimits.from_env().max_elements // per_tangent))


def run_check(config, out_dir: Path | str, at: str = "both", rows: int = DEFAULT_ROWS,
              quiet: bool = True) -> CheckReport:
    """Check the config's derivatives at ``at`` and write gradcheck.json and gradcheck.html."""
    from workbench.atomic import ensure_dir, write_json, write_text
    from workbench.pipeline.prepare import prepare
    from workbench.report.html import render_gradcheck_html

    if at not in AT_CHOICES:
        raise InputError(f"--at must be one of {', '.join(AT_CHOICES)}, got {at!r}", where="--at")
    if rows < 0:
        raise InputError(f"--rows must be 0 or more, got {rows}", where="--rows")
    out_dir = Path(out_dir)
    prepared = prepare(config)
    x_fit = None
    if at in ("fit", "both"):
        try:
            x_fit = fitted_point(prepared, out_dir)
        except InputError:
            if at == "fit":
                raise
            from workbench.pipeline.fit import run_fit

            x_fit = run_fit(config, out_dir, quiet=quiet, reports=False).x
    ensure_dir(out_dir)
    points = []
    most = checked_params(prepared)
    if at in ("init", "both"):
        points.append(check_point(prepared, prepared.x0, "init", rows=rows, max_params=most))
    if x_fit is not None:
        points.append(check_point(prepared, x_fit, "fit", rows=rows, max_params=most))
    report = CheckReport(config.name, points, rows)
    write_json(out_dir / "gradcheck.json", report.to_json())
    write_text(out_dir / "gradcheck.html", render_gradcheck_html(report, config, tolerance=tolerance_statement()["text"]))
    return report


def fit_gradient_checks(outcome) -> CheckReport | None:
    """The compact check at the start and at the solution, for a fit's result and report
    (computed once: ``assemble_result`` keeps it in ``outcome.gradcheck``)."""
    if outcome.gradcheck is not None:
        return outcome.gradcheck
    prepared, of_rows = on_row_sample(outcome.prepared, COMPACT_MAX_LOSS_ROWS)
    points = []
    checked = _on_fewer_rows(prepared, COMPACT_BUDGET)
    for at, x in (("init", prepared.x0), ("fit", outcome.x)):
        if not np.all(np.isfinite(x)):
            continue
        try:
            point = check_point(checked, x, at, rows=COMPACT_ROWS, max_params=COMPACT_MAX_PARAMS)
            point.loss = prepared.objective.loss_value(x)     # the fit's loss, whatever rows were checked
            points.append(point)
        except Exception as err:  # noqa: BLE001 - a check that cannot run must not lose the report
            outcome.warnings.append(f"the gradient check at {POINT_LABELS[at]} could not run: {err}")
    if not points:
        return None
    return CheckReport(prepared.config.name, points, COMPACT_ROWS, compact=True,
                       loss_rows=None if of_rows is None else prepared.objective.n_rows, of_rows=of_rows)


def on_row_sample(prepared, most: int):
    """``prepared`` with its objective on at most ``most`` evenly spaced fitted rows (the same
    rows every run), and the number of rows it had when that is fewer; else ``prepared`` and None.
    The derivative rules checked are the same at any number of rows; the cost is not."""
    import dataclasses

    from workbench.pipeline.objective import FitObjective

    objective = prepared.objective
    if objective.n_rows <= most:
        return prepared, None
    rows = evenly_spaced(objective.n_rows, most)
    weights = None if objective.weights is None else objective.weights[rows]
    sample = FitObjective(objective.model, objective.loss, {k: v[rows] for k, v in objective.columns.items()},
                          objective.target[rows], weights, objective.free, objective.fixed)
    return dataclasses.replace(prepared, objective=sample, train_rows=prepared.train_rows[rows],
                               optimizer_view=None), objective.n_rows


def _on_fewer_rows(prepared, budget: int):
    """``prepared`` with its loss on evenly spaced rows when all of them would cost more than
    ``budget`` numbers per evaluation: derivatives are the same functions of any rows, and a
    network over thousands of rows would otherwise spend minutes on numeric differences."""
    import dataclasses

    from workbench.pipeline.objective import FitObjective

    obj = prepared.objective
    per_row = max(prepared.model.values_per_row, 1)
    if obj.n_rows * per_row <= budget:
        return prepared
    keep = evenly_spaced(obj.n_rows, max(budget // per_row, COMPACT_ROWS))
    weights = None if obj.weights is None else obj.weights[keep]
    fewer = FitObjective(obj.model, obj.loss, {k: v[keep] for k, v in obj.columns.items()}, obj.target[keep],
                         weights, obj.free, obj.fixed)
    return dataclasses.replace(prepared, objective=fewer, train_rows=prepared.train_rows[keep],
                               weights=weights)


def gradient_check_summary(check: CheckReport | None, reason: str = "") -> dict:
    """result.json's ``gradient_check``; "not_run" (saying why) when no point could be checked."""
    if check is not None and check.points:
        return check.summary()
    return {"verdict": NOT_RUN, "failed_primitives": [], "inconclusive_parameters": [],
            "detail": f"the gradients were not checked: {reason or 'no finite point to check'}"}
