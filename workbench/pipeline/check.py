"""The gradient check of a fit: are the derivatives the optimizer used right?

``run_check(config, out_dir, at, rows)`` is ``workbench check``; ``fit_gradient_checks(outcome)``
is the compact version every ``workbench fit`` report shows. At each point checked (the start
``x0``, the fitted ``x``, or both) it compares, for the loss's gradient with respect to every
free parameter and for the model's Jacobian on a sample of data rows:

* the engine's reverse mode (what the optimizers use),
* its forward mode (an independent implementation of every rule),
* central differences and a Richardson-extrapolated estimate (``workbench.engine.gradcheck``),

and then checks every recorded node of the loss's graph on its own (``ad.check_nodes``) so
that a wrong rule is named by its primitive instead of merely making the total wrong. The
compact check, which every fit (and every member of a sweep) pays for, checks a node's inputs
larger than a scalar along three random directions instead of value by value, and reads the
fitted point's loss from the fit's result.

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
parameter's derivatives were confirmed by none (they are listed), and "failed" otherwise. At a
point where the function has no derivative (a kink, or sqrt at 0) nothing is blamed on a rule:
``check_kinks`` tells those apart. The verdicts and their wording are ``check_verdict``; which
rows and parameters are checked, ``check_rows``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workbench import engine as ad
from workbench.engine.mode import MODE
from workbench.engine.numdiff import DISAGREES, natural_length
from workbench.errors import InputError
from workbench.pipeline.check_kinks import (direction_is_inconclusive, kink_is_inconclusive, node_evidence,
                                            singularity_is_inconclusive)
from workbench.pipeline.check_rows import evenly_spaced, on_fewer_rows, on_row_sample
from workbench.pipeline.check_verdict import (ATOL, FAILED, INCONCLUSIVE, NODE_ATOL, NODE_RTOL, NOT_RUN,  # noqa: F401
                                              POINT_LABELS, RTOL, VERIFIED, CheckReport, DerivativeRow, PointCheck,
                                              tolerance_statement)
from workbench.pipeline.results import loss_in_chunks, scalar_names

DEFAULT_ROWS = 5
COMPACT_MAX_PARAMS = 20
FULL_MAX_PARAMS = 200     # `workbench check` of a network: this many evenly spaced weights, not all of them
COMPACT_BUDGET = 50_000   # a fit's own check takes the loss on fewer rows past rows × values per row this big
COMPACT_ROWS = 3
COMPACT_MAX_LOSS_ROWS = 10_000   # a fit's own check of more rows evaluates the loss on this fixed sample
FULL_NODE_ELEMENTS = 64   # `workbench check`: a node's input of at most this many values is checked value by value
COMPACT_NODE_ELEMENTS = 1   # a fit's own check: scalars value by value, larger inputs along 3 random directions
AT_CHOICES = ("init", "fit", "both")


# ---- the scaled functions being checked ----------------------------------------------------------

def _free_params(prepared, x: np.ndarray, chosen: np.ndarray, values) -> dict:
    """The free parameters by name, x with x[chosen] taken from the tensor ``values``. Scalars
    are picked from ``values`` one engine operation each, the others stay numbers: half of what
    cutting a concatenated vector costs on every one of the check's hundreds of evaluations."""
    objective = prepared.objective
    if all(p.shape == () for p in objective.free):
        position = {int(i): k for k, i in enumerate(chosen)}
        return {p.name: values[position[s.start]] if s.start in position else x[s.start]
                for p, s in zip(objective.free, objective.slices)}
    flat = _embed(x, chosen, values)
    return {p.name: ad.reshape(flat[s], p.shape) for p, s in zip(objective.free, objective.slices)}


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
        if _numbers_alone(v):
            v = v.data
        return output(_free_params(prepared, x, chosen, v * scale)) / out_scale
    return phi, x[chosen] / scale, scale, out_scale


def _numbers_alone(v) -> bool:
    """True when an evaluation at the tensor ``v`` records nothing and carries no tangent: the
    numeric probes, hundreds per check, which then run the same operations on plain numpy values
    (the same numbers) without the engine's bookkeeping per operation."""
    return isinstance(v, ad.Tensor) and not v.requires_grad and not MODE.forward and MODE.watch is None


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
        with np.errstate(invalid="ignore"):       # inf − inf at a singular point: no agreement
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
    """The loss as a function of the free parameters by name."""
    return lambda free: prepared.objective._loss_expr(free)


def _prediction_at(prepared, row: int):
    """One row's prediction as a function of the free parameters by name."""
    columns = {name: values[row:row + 1] for name, values in prepared.objective.columns.items()}

    def output(free):
        # A model of parameters alone predicts one value for every row; take this row's.
        return prepared.objective.predict({**prepared.objective.fixed, **free}, columns)[0]
    return output


def _node_failures(prepared, x: np.ndarray, max_elements: int = FULL_NODE_ELEMENTS):
    """Every node's rule of the loss at ``x`` against its own forward. An input of more than
    ``max_elements`` values is checked along three random directions with a random cotangent: a
    rule wrong on any of its values moves their weighted sum, so it is caught as surely as value by
    value (which names the value, at one probe per value)."""
    phi, v0, _, _ = _scaled(prepared, x, np.arange(len(x)), _loss_of(prepared), prepared.objective.loss_value(x))
    leaf = ad.Tensor(v0, requires_grad=True)
    with np.errstate(all="ignore"), ad.enable_grad():
        out = phi(leaf)
        if not isinstance(out, ad.Tensor) or not out.requires_grad:
            return None
        return ad.check_nodes(out, atol=NODE_ATOL, rtol=NODE_RTOL, max_elements=max_elements)


def check_point(prepared, x: np.ndarray, at: str, *, rows: int = DEFAULT_ROWS, max_params: int | None = None,
                node_elements: int = FULL_NODE_ELEMENTS) -> PointCheck:
    """Every check at ``x``: loss gradient, Jacobian on ``rows`` sampled rows, per-node rules
    (``_node_failures``, value by value for inputs of at most ``node_elements`` values)."""
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
            value = output(prepared.objective.unpack(x))
        entries, _ = _rows(prepared, x, chosen, output, float(np.asarray(getattr(value, "data", value))), names,
                           row=int(row_numbers[r]))
        jacobian += entries
    nodes = node_evidence(lambda at_x: _node_failures(prepared, at_x, node_elements), x)
    direction_dict = {} if direction is None else {
        "forward": direction.forward, "reverse": direction.reverse, "numeric": direction.numeric,
        "numeric_error": direction.numeric_error, "numeric_verdict": direction.verdict,
        "passed": bool(direction.passed), "error": direction.error}
    if nodes.singular and not nodes.failing:
        singularity_is_inconclusive(gradient + jacobian)
        direction_is_inconclusive(direction_dict, singular=True)
    elif nodes.kinked and not nodes.failing:
        kink_is_inconclusive(gradient + jacobian)
        direction_is_inconclusive(direction_dict, singular=False)
    return PointCheck(at, float(loss), len(x), gradient, jacobian, direction_dict, nodes.rules, nodes.failures,
                      nodes.failing, nodes.singular)


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
    checked = on_fewer_rows(prepared, COMPACT_BUDGET, COMPACT_ROWS)
    if checked.objective.n_rows < outcome.prepared.objective.n_rows:
        of_rows = outcome.prepared.objective.n_rows
    for at, x in (("init", prepared.x0), ("fit", outcome.x)):
        if not np.all(np.isfinite(x)):
            continue
        try:
            point = check_point(checked, x, at, rows=COMPACT_ROWS, max_params=COMPACT_MAX_PARAMS,
                                node_elements=COMPACT_NODE_ELEMENTS)
            point.loss = _fit_loss(outcome, x)     # the fit's loss, whatever rows were checked
            points.append(point)
        except Exception as err:  # noqa: BLE001 - a check that cannot run must not lose the report
            outcome.warnings.append(f"the gradient check at {POINT_LABELS[at]} could not run: {err}")
    if not points:
        return None
    return CheckReport(prepared.config.name, points, COMPACT_ROWS, compact=True,
                       loss_rows=None if of_rows is None else checked.objective.n_rows, of_rows=of_rows)


def _fit_loss(outcome, x: np.ndarray) -> float:
    """The loss of all the fit's rows at ``x``: result.json's at the fitted point (the same sum,
    already computed), else summed over the row chunks."""
    known = outcome.result.get("loss") if isinstance(outcome.result, dict) else None
    if known is not None and x is outcome.x:
        return float(known)
    return loss_in_chunks(outcome.prepared, x)


def gradient_check_summary(check: CheckReport | None, reason: str = "") -> dict:
    """result.json's ``gradient_check``; "not_run" (saying why) when no point could be checked."""
    if check is not None and check.points:
        return check.summary()
    return {"verdict": NOT_RUN, "failed_primitives": [], "inconclusive_parameters": [],
            "detail": f"the gradients were not checked: {reason or 'no finite point to check'}"}
