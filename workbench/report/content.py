"""What a report says, as typed blocks (``blocks.py``) that the HTML and the PDF lay out alike.

``report_content(outcome, figures)`` returns a ``ReportContent``: the manager part first (title,
date, the summary sentences and warnings, the chart of data and fit, the parameters in plain words,
fit quality in words, changes since the previous fit), then the technical appendix (data,
model and optimizer, gradient check, correlations, convergence plots, graph, console messages,
reproducibility), which ``report: {appendix: false}`` leaves out. Every word comes from the
catalog of ``report.language``; every number from result.json or the arrays it summarises.

``report_inputs(outcome)`` is the one place that reads a fit's outcome; everything else works on
the plain ``ReportInputs`` it returns, so the report imports nothing from the pipeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.report import appendix, sentences
from workbench.report.blocks import Paragraph, ReportContent, Section, Table
from workbench.report.effects import Effect, input_effects
from workbench.report.i18n import translator
from workbench.report.meanings import parameter_meanings
from workbench.report.pieces import figure_block, figure_path, measure_rows
from workbench.report.text import number

MAX_PARAM_ROWS = 40
MANAGER_MEASURES = ("r2", "rmse", "mae", "accuracy", "log_loss", "n")


@dataclass
class ReportInputs:
    """Everything a report needs from a fit, as plain values."""

    result: dict                          # result.json
    config: object                        # the fit's Config (name, data.units, report.*, model, loss, ...)
    params_table: list[dict]              # params.csv's rows
    target: str
    inputs: tuple[str, ...]
    model_kind: str | None                # built-in type, or None for a formula
    binary: bool = False
    logit: bool = False                   # the model's output is the log-odds of a 0/1 target
    effects: list[Effect] = field(default_factory=list)
    correlation: tuple[list[str], np.ndarray] | None = None
    notes: list[str] = field(default_factory=list)        # console messages of the fit
    n_validation: int = 0
    out_dir: Path | None = None
    command: str | None = None

    @property
    def language(self) -> str:
        return getattr(getattr(self.config, "report", None), "language", None) or "en"

    @property
    def units(self) -> dict:
        return dict(getattr(getattr(self.config, "data", None), "units", None) or {})

    @property
    def with_appendix(self) -> bool:
        return bool(getattr(getattr(self.config, "report", None), "appendix", True))

    @property
    def describe(self) -> dict:
        return dict(getattr(getattr(self.config, "report", None), "describe", None) or {})


def predicts_probability(prepared) -> bool:
    """A 0/1 target: a built-in binary model, or any model fitted with cross-entropy."""
    return bool(prepared.model.binary or getattr(prepared.loss, "name", "") == "cross_entropy")


def predicts_logit(prepared) -> bool:
    """The model's output is a logit: a 0/1 target fitted on logits (built-in logistic, or cross-entropy)."""
    return bool(predicts_probability(prepared) and getattr(prepared.loss, "from_logits", True))


def _effects_of(outcome) -> list[Effect]:
    prepared = outcome.prepared
    objective, model = prepared.objective, prepared.model
    binary, logit = predicts_probability(prepared), predicts_logit(prepared)

    def predict(x, columns):
        from workbench import engine as ad

        with ad.no_grad():
            out = objective.predict(objective.unpack(x), columns)
        return np.asarray(getattr(out, "data", out), dtype=float)

    unc = outcome.uncertainty
    per_point = {column: 0.01 for column in sentences.percent_columns(outcome.result)}
    return input_effects(predict, outcome.x, objective.columns, model.inputs, getattr(unc, "covariance", None),
                         getattr(unc, "t_value", float("nan")), binary=binary, logit=logit, steps=per_point)


def _final_folder(outcome) -> Path:
    """Where the fit's files end up: ``destination`` while they are written into a staging folder
    beside it (``out_dir``), as an absolute path, so that the report names a folder that exists."""
    return Path(getattr(outcome, "destination", None) or outcome.out_dir).resolve()


def report_inputs(outcome) -> ReportInputs:
    """The plain values of a fit's outcome that the report shows."""
    prepared = outcome.prepared
    model, unc = prepared.model, outcome.uncertainty
    try:
        effects = _effects_of(outcome)
    except Exception:  # noqa: BLE001 - an effect that cannot be computed is not claimed; the report stands
        effects = []
    corr = getattr(unc, "correlation", None)
    return ReportInputs(result=outcome.result, config=prepared.config, params_table=list(outcome.params_table),
                        target=model.target, inputs=tuple(model.inputs),
                        model_kind=None if prepared.config.model.formula else prepared.config.model.type,
                        binary=predicts_probability(prepared), logit=predicts_logit(prepared), effects=effects,
                        correlation=(list(unc.names), np.asarray(corr, dtype=float)) if corr is not None else None,
                        notes=list(dict.fromkeys(outcome.warnings)), n_validation=(outcome.result.get("validation_metrics") or {}).get("n", 0),
                        out_dir=_final_folder(outcome), command=getattr(outcome, "command", None))


# ---- the manager part ---------------------------------------------------------------------------

def _fit_caption(inputs: ReportInputs, figures, tr) -> str:
    _, drawn = figure_path(figures, "fit")
    if inputs.binary:
        return tr("figure.fit.calibration", target=inputs.target)
    if len(inputs.inputs) != 1:
        return tr("figure.fit.actual")
    if getattr(drawn, "band", False):
        return tr("figure.fit.band")
    return tr("figure.fit.no_band" if sentences.is_estimate(inputs.result) else "figure.fit.not_estimate")


def _summary(inputs: ReportInputs, tr) -> Section:
    said = sentences.summary_sentences(inputs.result, inputs.effects, inputs.target, tr, binary=inputs.binary,
                                       units=inputs.units)
    blocks = [Paragraph(tr("sentence.join").join(said), kind="summary")]
    blocks += [Paragraph(text, kind="alert") for text in sentences.alerts(inputs.result, tr)]
    return Section("summary", tr("section.summary"), blocks)


def _bound_note(row: dict, tr) -> str:
    value, tol = row["value"], 1e-9 * max(1.0, abs(row["value"]))
    if row.get("fixed"):
        return tr("param.fixed")
    if row.get("min") is not None and abs(value - row["min"]) <= tol:
        return tr("param.at_lower")
    if row.get("max") is not None and abs(value - row["max"]) <= tol:
        return tr("param.at_upper")
    return ""


def _parameters(inputs: ReportInputs, tr) -> Section:
    table = inputs.params_table
    formula = getattr(getattr(inputs.config, "model", None), "formula", None)
    # A date input counts days: "per additional 1 day of Date" unless the config gives it a unit.
    days = {c: tr("unit.day") for c in (inputs.result.get("prediction") or {}).get("date_origins") or {}}
    # A percentage column's 1 is 100 percentage points (whatever unit the config gives): its
    # coefficient is per 100 points, and says so.
    points = {c: tr("unit.percent_whole") for c in sentences.percent_columns(inputs.result)}
    meanings = parameter_meanings([r["name"] for r in table[:MAX_PARAM_ROWS]], tr=tr, target=inputs.target,
                                  kind=inputs.model_kind, inputs=inputs.inputs, formula=formula,
                                  describe=inputs.describe, units={**days, **inputs.units, **points}, logit=inputs.logit)
    undetermined = {name for kind, names in sentences.undetermined_by_kind(inputs.result) for name in names
                    if kind == "undetermined"}
    scaling = {name for kind, names in sentences.undetermined_by_kind(inputs.result) for name in names
               if kind == "scaling"}
    separated = sentences.separated_by(inputs.result, tr) is not None
    estimate = sentences.is_estimate(inputs.result)
    rows = []
    for r in table[:MAX_PARAM_ROWS]:
        # Where an optimizer stopped short has no interval worth stating: the value is labelled instead.
        interval = "—" if r.get("ci_low") is None or not estimate else tr(
            "interval.range", low=number(r["ci_low"]), high=number(r["ci_high"]))
        value = number(r["value"], 6)
        note = (tr("param.separation") if separated and not r.get("fixed") else
                tr("param.undetermined") if r["name"] in undetermined else
                tr("param.no_uncertainty") if r["name"] in scaling else _bound_note(r, tr))
        if not estimate and not r.get("fixed"):
            value = tr("value.not_converged", value=value)
            note = note or tr("param.not_converged")
        rows.append((r["name"], meanings.get(r["name"], ""), value, number(r.get("stderr"), 3), interval, note))
    columns = tuple(tr(k) for k in ("col.parameter", "col.meaning", "col.value", "col.stderr", "col.interval",
                                    "col.note"))
    blocks = [Table(columns, tuple(rows), numeric=(False, False, True, True, True, False))]
    if len(table) > MAX_PARAM_ROWS:
        blocks.append(Paragraph(tr("params.more", n=len(table) - MAX_PARAM_ROWS), kind="note"))
    return Section("parameters", tr("section.parameters"), blocks)


def _quality(inputs: ReportInputs, tr) -> Section:
    result = inputs.result
    said = sentences.quality_sentences(result, inputs.target, tr, binary=inputs.binary,
                                       target_unit=inputs.units.get(inputs.target))
    validation = result.get("validation_metrics") or None
    columns = [tr("col.measure"), tr("col.fitted")] + ([tr("col.validation")] if validation else []) + [tr("col.meaning")]
    rows = measure_rows(result.get("metrics") or {}, validation, MANAGER_MEASURES, tr, inputs.target,
                        inputs.units.get(inputs.target))
    numeric = (False, True) + ((True,) if validation else ()) + (False,)
    return Section("quality", tr("section.quality"),
                   [Paragraph(tr("sentence.join").join(said)), Table(tuple(columns), rows, numeric=numeric)])


def _drift(inputs: ReportInputs, tr) -> Section | None:
    drift = inputs.result.get("drift")
    if drift is None:
        return None
    blocks = [Paragraph(text) for text in sentences.drift_sentences(inputs.result, tr)]
    if drift:
        rows = tuple((d["param"] if "param" in d else tr(f"measure.{d['metric']}"), number(d["previous"], 4),
                      number(d["now"], 4), number(d.get("z"), 2)) for d in drift)
        blocks.append(Table((tr("col.parameter"), tr("col.previous"), tr("col.now"), tr("col.z")), rows,
                            numeric=(False, True, True, True)))
    return Section("drift", tr("section.drift"), blocks)


def manager_sections(inputs: ReportInputs, figures, tr) -> list[Section]:
    chart = Section("chart", tr("section.chart"),
                    [figure_block(figures, "fit", tr("figure.fit.title"), _fit_caption(inputs, figures, tr), tr,
                                  inputs.language)])
    drift = _drift(inputs, tr)
    path, drawn = figure_path(figures, "drift")
    if drift is not None and path is not None:
        caption = tr("figure.drift")
        if (drawn.total or 0) > (drawn.shown or 0):
            caption += " " + tr("figure.drift_more", shown=drawn.shown, total=drawn.total)
        drift.blocks.append(figure_block(figures, "drift", tr("figure.drift.title"), caption, tr, inputs.language))
    sections = [_summary(inputs, tr), chart, _parameters(inputs, tr), _quality(inputs, tr), drift]
    return [s for s in sections if s is not None]


def build_content(inputs: ReportInputs, figures=None, *, now: dt.datetime | None = None) -> ReportContent:
    """The report for ``inputs`` (see the module docstring)."""
    tr = translator(inputs.language)
    result = inputs.result
    when = (now or dt.datetime.now()).strftime(tr("date.format"))
    data_file = Path(str((result.get("data") or {}).get("path", ""))).name
    return ReportContent(
        language=inputs.language,
        title=tr("report.title", name=result.get("name")),
        subtitle=tr("report.subtitle", date=when, file=data_file),
        manager=manager_sections(inputs, figures, tr),
        appendix=appendix.sections(inputs, figures, tr) if inputs.with_appendix else [],
        footer=appendix.footer(inputs, tr))


def report_content(outcome, figures=None, *, now: dt.datetime | None = None) -> ReportContent:
    """The report of a fit's ``outcome``, with the pictures in ``figures`` (``figures.Figures``)."""
    return build_content(report_inputs(outcome), figures, now=now)
