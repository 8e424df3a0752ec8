"""The plain-language sentences of a report, written only from numbers that support them.

Every function takes result.json's content (a dict), the effects of ``effects.py`` and the
report's ``Translator``, and returns sentences in the report's language:

* ``quality_sentences``: how much of the variation the model explains (or how often it classifies
  correctly) and the typical error, in the target's units;
* ``effect_sentence``: what one more unit of an input does (one more percentage point of a column
  written as percentages, result.json's ``data.percent_columns``), with its interval; "no clear effect"
  where the 95% interval includes no effect; nothing claimed where the interval is unknown;
* ``trust_sentences``: how the run ended and why (``stops.py``: a fit that diverged never
  "converged", and each cause of a divergence says truly which values are shown) and the
  gradient check's verdict (``gradient_check.verdict``);
* ``drift_sentences``: which parameters moved since the previous fit (``drift``);
* ``alerts``: what a manager must not miss, without engineer words (the details are in the appendix).

A fit that did not converge states no effect of an input: its values are where the optimizer
stopped, not estimates, and the summary says so (``is_estimate``). A 0/1 target whose classes the
inputs separate (result.json's ``separation``) is said to be separated, not "classified 100%
correctly": the model cannot put a number on how strongly the input matters.

Console notes (starting values, options an optimizer ignores) are not sentences of the summary.
"""

from __future__ import annotations

import math

from workbench.report.effects import Effect
from workbench.report.stops import stop_sentence
from workbench.report.text import names_list, number, percent, share_text, unit_suffix

MAX_EFFECT_SENTENCES = 4
VERDICTS = ("verified", "failed", "inconclusive", "not_run")
ESTIMATE_STATUSES = ("converged", "early_stopped")     # the values are an estimate (as predict judges)


def is_estimate(result: dict) -> bool:
    """The values are an estimate: the fit converged (or stopped early on its validation rows)."""
    status = result.get("status")
    return status == "early_stopped" or (bool(result.get("converged")) and status != "diverged")


def table_sample(result: dict) -> tuple[int, int] | None:
    """(rows held, rows of the table) when the fit's predictions, pictures and tables are of a
    sample of the table (a cluster fit's client holds at most a sample: result.json's
    ``execution``); None when they are of every row."""
    execution = result.get("execution") or {}
    sampled, rows = execution.get("sampled_rows"), execution.get("rows")
    if sampled is None or rows is None or sampled >= rows:
        return None
    return int(sampled), int(rows)


def separated_by(result: dict, tr) -> str | None:
    """The inputs that separate a 0/1 target's classes, in words (None: not separated)."""
    separation = result.get("separation")
    if not isinstance(separation, dict):
        return None
    names = separation.get("by") or []
    return names_list(names, tr) if names else tr("separation.combination")


def gradient_verdict(result: dict) -> str:
    """The gradient check's one verdict, as result.json records it ("not_run" when absent)."""
    verdict = (result.get("gradient_check") or {}).get("verdict")
    return verdict if verdict in VERDICTS else "not_run"


def quality_sentences(result: dict, target: str, tr, *, binary: bool = False, target_unit: str | None = None) -> list[str]:
    metrics = result.get("metrics") or {}
    out = []
    by = separated_by(result, tr)
    if by is not None:        # "100% correct" would read as success; the model cannot quantify this
        out.append(tr("quality.separated", target=target, by=by))
    elif binary and metrics.get("accuracy") is not None:
        out.append(tr("quality.accuracy", share=share_text(metrics["accuracy"]), target=target))
    elif metrics.get("r2") is not None:
        r2 = metrics["r2"]
        out.append(tr("quality.r2_negative", target=target, r2=number(r2, 3)) if r2 < 0 else
                   tr("quality.r2", share=share_text(r2), target=target))
    if not binary and metrics.get("rmse") is not None:
        out.append(tr("quality.rmse", target=target, rmse=number(metrics["rmse"], 3) + unit_suffix(target_unit, tr)))
    validation = result.get("validation_metrics") or {}
    if validation.get("n"):
        if binary and validation.get("accuracy") is not None:
            out.append(tr("quality.validation_accuracy", n=validation["n"], share=share_text(validation["accuracy"])))
        elif not binary and validation.get("r2") is not None and validation["r2"] >= 0:
            out.append(tr("quality.validation", n=validation["n"], share=share_text(validation["r2"])))
    return out


def percent_columns(result: dict) -> list[str]:
    """The inputs written as percentages (result.json's ``data.percent_columns``)."""
    return list((result.get("data") or {}).get("percent_columns") or [])


def input_kinds(result: dict) -> dict[str, tuple[str, dict]]:
    """How each input reads in a sentence, from result.json's ``prediction`` and ``data``: a date
    column counts days ("each additional day"), a percentage column percentage points, a
    categorical level's indicator compares it with the reference level (the first); other inputs
    are numbers (absent here)."""
    spec = result.get("prediction") or {}
    kinds = {name: ("percent", {}) for name in percent_columns(result)}
    kinds.update({name: ("date", {}) for name in spec.get("date_origins") or {}})
    for column, levels in (spec.get("levels") or {}).items():
        for level in levels[1:]:
            kinds[f"{column}[{level}]"] = ("level", {"column": column, "level": level, "reference": levels[0]})
    return kinds


def _subject(effect: Effect, tr, units: dict, kinds: dict) -> dict:
    """The words for "one more" of the input: each, each_mid (after "On average,"), name and per."""
    kind, fields = kinds.get(effect.column, ("number", {}))
    fields = {"column": effect.column, "unit": unit_suffix(units.get(effect.column), tr), **fields}
    return {part: tr(f"effect.{part}.{kind}", **fields) for part in ("each", "each_mid", "name", "per")}


def effect_sentence(effect: Effect, target: str, tr, units: dict | None = None, kinds: dict | None = None) -> str:
    """One sentence for one input's effect (see ``effects.Effect``); ``kinds``: ``input_kinds``."""
    units = units or {}
    fields = {"target": target, **_subject(effect, tr, units, kinds or {})}
    if effect.kind == "unmeasured":
        return tr("effect.unmeasured", **fields)
    way = "up" if effect.direction > 0 else "down"
    if effect.kind == "odds_ratio":
        digits = _ratio_digits(effect.value, effect.low, effect.high)
        fields.update(ratio=number(effect.value, digits), low=number(effect.low, digits),
                      high=number(effect.high, digits))
        return tr(f"effect.odds.{way}" if effect.clear else "effect.odds.none", **fields)
    if effect.kind == "probability":
        fields.update(points=number(abs(effect.value) * 100, 3), low=number(effect.low * 100, 3),
                      high=number(effect.high * 100, 3))
        return tr(f"effect.probability.{way}" if effect.clear else "effect.probability.none", **fields)
    if not effect.clear:
        return tr("effect.none", low=number(effect.low, 3), high=number(effect.high, 3), **fields)
    amount = number(abs(effect.value), 3) + unit_suffix(units.get(target), tr)
    return tr(f"effect.{effect.kind}.{way}", amount=amount, spread=number(effect.stderr, 2), **fields)


def _ratio_digits(*ratios: float | None) -> int:
    """Significant digits that show how far odds ratios near 1 are from 1: 1.0021 (1.0019 to
    1.0023), not 1.00 (1.00 to 1.00), for an input whose unit is small against its effect."""
    digits = 3
    for ratio in ratios:
        if ratio is not None and math.isfinite(ratio) and 0 < abs(ratio - 1.0) < 0.1:
            digits = max(digits, 2 + math.ceil(-math.log10(abs(ratio - 1.0))))
    return min(digits, 7)


def effect_sentences(effects: list[Effect], target: str, tr, units: dict | None = None,
                     kinds: dict | None = None) -> list[str]:
    return [effect_sentence(e, target, tr, units, kinds) for e in effects[:MAX_EFFECT_SENTENCES]]


def trust_sentences(result: dict, tr) -> list[str]:
    """How and why the run ended (``stops.py``: from ``status`` and the kind of message), then the
    gradient check's verdict."""
    return [stop_sentence(result, tr), tr(f"gradients.{gradient_verdict(result)}")]


def _drift_entry(entry: dict, tr) -> str:
    """One drift entry of result.json (a parameter by z or by relative change, or a metric) in words."""
    if "metric" in entry:
        return tr("drift.metric", metric=tr(f"measure.{entry['metric']}"), previous=number(entry["previous"], 4),
                  now=number(entry["now"], 4), change=percent(entry["relative_change"], 0),
                  tolerance=percent(entry["tolerance"], 0))
    fields = {"param": entry["param"], "previous": number(entry["previous"], 4), "now": number(entry["now"], 4)}
    if entry.get("z") is None:
        return tr("drift.moved_relative", change=percent(entry.get("relative_change") or 0.0, 0),
                  tolerance=percent(entry.get("tolerance") or 0.0, 0), **fields)
    return tr("drift.moved", z=number(abs(entry["z"]), 2), **fields)


def drift_sentences(result: dict, tr) -> list[str]:
    """What moved since the previous fit; why nothing was compared; nothing without a history."""
    drift = result.get("drift")
    if drift is None:
        return []
    if drift:
        return [_drift_entry(entry, tr) for entry in drift]
    check = result.get("drift_check") or {}
    if "drift_check" in result and check.get("compared_with") is None:
        return [tr("drift.first" if result.get("converged") else "drift.not_compared")]
    return [tr("drift.none")]


def alerts(result: dict, tr) -> list[str]:
    """Warnings a manager must not miss, each one sentence, in plain words."""
    out = []
    if result.get("status") == "diverged":
        out.append(tr("alert.diverged"))
    elif separated_by(result, tr) is not None:
        out.append(tr("alert.separated", by=separated_by(result, tr)))
    elif not is_estimate(result):
        out.append(tr("alert.not_converged"))
    out += [tr(f"alert.{kind}", names=names_list(names, tr)) for kind, names in undetermined_by_kind(result)
            if kind != "separation"]
    r2 = (result.get("metrics") or {}).get("r2")
    if r2 is not None and r2 < 0:
        out.append(tr("alert.r2_negative"))
    if gradient_verdict(result) == "failed":
        out.append(tr("alert.gradients_failed"))
    return out


def undetermined_by_kind(result: dict) -> list[tuple[str, list[str]]]:
    """result.json's ``undetermined`` grouped by what can truly be said of them: held at a bound
    set in the config (a limit, not an estimate), an uncertainty lost to an input's scale (the value
    may be fine), or not determined by the data (no effect, collinear, a combination)."""
    groups: dict[str, list[str]] = {}
    for entry in result.get("undetermined") or []:
        name, reason = (entry.get("param"), entry.get("reason")) if isinstance(entry, dict) else (entry, None)
        kind = {"at_bound": "at_bound", "scaling": "scaling", "separation": "separation"}.get(reason, "undetermined")
        groups.setdefault(kind, []).append(str(name))
    return [(kind, groups[kind]) for kind in ("undetermined", "scaling", "at_bound", "separation") if kind in groups]


def summary_sentences(result: dict, effects: list[Effect], target: str, tr, *, binary: bool = False,
                      units: dict | None = None) -> list[str]:
    """The summary at the top: quality, the inputs' effects, convergence and gradients, drift."""
    units = units or {}
    quality = quality_sentences(result, target, tr, binary=binary, target_unit=units.get(target))[:1]
    by = separated_by(result, tr)
    said_effects = effect_sentences(effects, target, tr, units, input_kinds(result)) if is_estimate(result) else []
    if not is_estimate(result) and by is None and result.get("status") != "diverged":
        said_effects = [tr("summary.not_estimates")]    # where an optimizer stopped supports no claim of effect
    return quality + said_effects + trust_sentences(result, tr) + drift_sentences(result, tr)
