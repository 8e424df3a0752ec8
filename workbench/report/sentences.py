"""The plain-language summary at the top of a report, written from the numbers.

Three sentences, always in the same order, for a reader who does not know what a Jacobian is:
how much of the variation the model explains, what the most important input does, and whether
the fit can be trusted (converged, gradients verified). ``alerts`` are the warnings that belong
right beside them: the fit did not converge, some uncertainties could not be estimated (named),
the gradient check failed (naming the primitive whose rule is wrong).
"""

from __future__ import annotations

from workbench.report.effects import Effect, average_effect
from workbench.report.text import names_list, number, percent, plural


def _quality_sentence(outcome) -> str:
    metrics = outcome.result.get("metrics") or {}
    target = outcome.prepared.model.target
    if outcome.prepared.model.binary and metrics.get("accuracy") is not None:
        return (f"The model classifies {percent(metrics['accuracy'])} of the rows correctly "
                f"(whether {target} is 1 or 0).")
    r2 = metrics.get("r2")
    if r2 is None:
        return f"The model's typical error is {number(metrics.get('rmse'), 3)} in units of {target} (RMSE)."
    if r2 < 0:
        return (f"The model explains less of the variation in {target} than its plain average does "
                f"(R² = {number(r2, 3)}).")
    shown = percent(r2)
    for decimals in (2, 3):      # 0.9995 is not "100.0%": only a perfect fit is
        if r2 < 1 and shown.startswith("100"):
            shown = percent(r2, decimals)
    return f"The model explains {shown} of the variation in {target}."


def _effect_sentence(effect: Effect | None, target: str) -> str:
    if effect is None:
        return f"The model has no input column whose effect on {target} could be measured."
    lead = f"Of its inputs, {effect.column} matters most: " if effect.several_inputs else ""
    if effect.value == 0:
        body = f"changing {effect.column} leaves {target} unchanged."
    else:
        direction = "raises" if effect.value > 0 else "lowers"
        scale, what, unit = (100.0, f"the chance that {target} is 1", " percentage points") if effect.probability \
            else (1.0, target, "")
        size = abs(effect.value) * scale
        amount = number(size, 2 if size < 10 else 3) + unit
        spread = f" (±{number(effect.stderr * scale, 2)})" if effect.stderr is not None else ""
        each = "on average, each" if effect.varies else "each"
        body = f"{each} extra unit of {effect.column} {direction} {what} by {amount}{spread}."
    return lead + body if lead else body[:1].upper() + body[1:]


def _gradients_phrase(gradcheck) -> tuple[str, bool]:
    if gradcheck is None:
        return "its gradients were not checked", False
    if gradcheck.passed:
        return "its gradients were verified", True
    return "its gradients failed verification", False


def _trust_sentence(outcome, gradcheck) -> str:
    result = outcome.result
    steps = plural(int(result.get("iterations") or 0), "step")
    phrase, verified = _gradients_phrase(gradcheck)
    if result.get("status") == "diverged":
        return (f"The fit diverged at step {result.get('diverged_at')} (the loss stopped being a number), "
                f"so the values shown are the last sensible ones and {phrase}.")
    if not result.get("converged"):
        return f"The fit stopped after {steps} without converging, and {phrase}."
    joiner = "and" if verified or gradcheck is None else "but"
    if gradcheck is None:
        return f"The fit converged after {steps} ({phrase})."
    return f"The fit converged after {steps} {joiner} {phrase}."


def summary_sentences(outcome, gradcheck=None) -> list[str]:
    """The three sentences: quality, the main input's effect, convergence and gradients."""
    try:
        effect = average_effect(outcome)
    except Exception:  # noqa: BLE001 - a sentence that cannot be computed must not lose the report
        effect = None
    return [_quality_sentence(outcome), _effect_sentence(effect, outcome.prepared.model.target),
            _trust_sentence(outcome, gradcheck)]


def alerts(outcome, gradcheck=None) -> list[str]:
    """Warnings a manager must not miss, each one sentence."""
    result, out = outcome.result, []
    if result.get("status") == "diverged":
        out.append(f"The fit diverged at step {result.get('diverged_at')}: {result.get('message')}. "
                   f"Do not use these numbers.")
    elif not result.get("converged"):
        out.append(f"The fit did not converge ({result.get('message')}); treat the numbers below with caution.")
    unc = outcome.uncertainty
    undetermined = list(getattr(unc, "undetermined", []) or [])
    if undetermined:
        reasons = "; ".join(getattr(unc, "warnings", []) or [])
        out.append(f"Uncertainties could not be estimated for {names_list(undetermined)}"
                   + (f" ({reasons})." if reasons else "."))
    elif getattr(unc, "covariance", None) is None and getattr(unc, "warnings", None):
        reasons = "; ".join(unc.warnings)
        if not reasons.lower().startswith("uncertainties"):
            reasons = "uncertainties could not be estimated: " + reasons
        out.append(reasons[:1].upper() + reasons[1:] + ".")
    if gradcheck is not None and not gradcheck.passed:
        failed = [p.label for p in gradcheck.points if not p.passed]
        primitives = gradcheck.failing_primitives
        culprit = (f"the derivative rule of {names_list(primitives)} disagrees with numerical differentiation"
                   if primitives else "the derivatives disagree with numerical estimates")
        out.append(f"The gradient check failed at {names_list(failed)}: {culprit}, so the optimizer may "
                   f"have been misled.")
    return out


def notes(outcome) -> list[str]:
    """The fit's other warnings (assumptions, plots not drawn), minus those already in ``alerts``."""
    already = set(getattr(outcome.uncertainty, "warnings", []) or [])
    return [w for w in dict.fromkeys(outcome.warnings) if w not in already]
