"""The technical appendix of a report: how the numbers of the manager part were computed and checked.

Data read and dropped, the model, loss and optimizer (why it stopped in the report's words; an
English report adds the optimizer's own message), the gradient check's verdict (result.json's ``gradient_check``), the correlations of
the parameters, the convergence pictures and the computational graph, the console's messages and
what it takes to reproduce the run. ``content.py`` puts it after the manager part.
"""

from __future__ import annotations

import platform
import shlex
import sys
from pathlib import Path

import numpy as np

from workbench import __version__
from workbench.report.blocks import Code, Paragraph, Section, Table
from workbench.report.pieces import figure_block, measure_rows
from workbench.report.sentences import gradient_verdict
from workbench.report.stops import stop_sentence
from workbench.report.text import count, names_list, number, percent

MAX_CORRELATIONS = 12
CORRELATION_SHOWN = 0.5
TECHNICAL_MEASURES = ("chi_square", "reduced_chi_square", "aic", "bic")


def command_line() -> str:
    """The command as the user typed it (for ``python -m workbench`` too)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    if program.name.startswith("workbench") or (program.name == "__main__.py" and program.parent.name == "workbench"):
        return shlex.join(["workbench", *sys.argv[1:]])
    return shlex.join([program.name, *sys.argv[1:]])


def _resolved_config(config) -> str:
    try:
        from workbench.config import to_yaml

        return to_yaml(config)
    except Exception:  # noqa: BLE001 - fall back to the mapping as given
        import yaml

        return yaml.safe_dump(getattr(config, "raw", {}) or {}, sort_keys=False, allow_unicode=True)


def _key_values(rows, tr) -> Table:
    return Table((tr("col.item"), tr("col.detail")), tuple((str(k), str(v)) for k, v in rows))


def _count_or_dash(value) -> str:
    return count(value) if isinstance(value, int) else "—" if value is None else str(value)


def _data(inputs, tr) -> Section:
    data = inputs.result.get("data") or {}
    rows = [(tr("data.file"), data.get("path", "—")),
            (tr("data.sheet"), data.get("sheet") or tr("data.no_sheet")),
            (tr("data.rows_read"), _count_or_dash(data.get("rows_read"))),
            (tr("data.rows_used"), _count_or_dash(data.get("rows_used"))),
            (tr("data.rows_dropped"), _count_or_dash(data.get("rows_dropped", 0)))]
    if inputs.n_validation:
        share = inputs.n_validation / max(int(data.get("rows_used") or 0), inputs.n_validation, 1)
        rows.append((tr("data.validation"), tr("data.validation_value", n=inputs.n_validation, share=percent(share, 0),
                                               seed=inputs.result.get("seed"))))
    if inputs.units:
        rows.append((tr("data.units"), tr("list.sep").join(f"{c}: {u}" for c, u in inputs.units.items())))
    return Section("data", tr("section.data"), [_key_values(rows, tr)])


def _model(inputs, tr) -> Section:
    result, config = inputs.result, inputs.config
    formula = getattr(config.model, "formula", None)
    rows = [(tr("model.formula"), formula) if formula else (tr("model.model"), result.get("model")),
            (tr("model.inputs"), f"{', '.join(inputs.inputs) or '—'} → {inputs.target}")]
    loss = str(result.get("loss_name"))
    extras = []
    if config.loss.l1 or config.loss.l2:
        extras.append(tr("model.regularization", l1=number(config.loss.l1), l2=number(config.loss.l2)))
    if config.loss.weights:
        extras.append(tr("model.weights", column=config.loss.weights))
    rows += [(tr("model.loss"), loss + (f" ({'; '.join(extras)})" if extras else "")),
             (tr("model.optimizer"), result.get("optimizer")),
             (tr("model.stop"), stop_sentence(result, tr))]
    if inputs.language == "en" and result.get("message"):       # the optimizer speaks English only
        rows.append((tr("model.message"), result["message"]))
    rows += [
             (tr("model.steps"), result.get("iterations")),
             (tr("model.evaluations"), result.get("function_evaluations"))]
    blocks = [_key_values(rows, tr)]
    measures = measure_rows(result.get("metrics") or {}, None, TECHNICAL_MEASURES, tr, inputs.target, None)
    if measures:
        blocks.append(Table((tr("col.measure"), tr("col.value"), tr("col.meaning")), measures,
                            numeric=(False, True, False)))
    return Section("model", tr("section.model"), blocks)


def _gradient_check(inputs, tr) -> Section:
    check = inputs.result.get("gradient_check") or {}
    verdict = gradient_verdict(inputs.result)
    blocks = [Paragraph(tr(f"gc.{verdict}"), kind="alert" if verdict == "failed" else "text")]
    if check.get("failed_primitives"):
        blocks.append(Paragraph(tr("gc.failed_primitives", names=names_list(check["failed_primitives"], tr))))
    if check.get("inconclusive_parameters"):
        blocks.append(Paragraph(tr("gc.inconclusive_parameters",
                                   names=names_list(check["inconclusive_parameters"], tr))))
    if check.get("detail") and inputs.language == "en":
        blocks.append(Paragraph(str(check["detail"]), kind="note"))
    blocks.append(Paragraph(tr("gc.full_table"), kind="note"))
    return Section("gradient-check", tr("section.gradient_check"), blocks)


def strong_correlations(names, matrix) -> list[tuple[str, str, float]]:
    upper = np.triu(np.nan_to_num(np.asarray(matrix, dtype=float)), k=1)
    i, j = np.nonzero(np.abs(upper) > CORRELATION_SHOWN)
    order = np.argsort(-np.abs(upper[i, j]), kind="stable")[:MAX_CORRELATIONS]
    return [(names[i[k]], names[j[k]], float(upper[i[k], j[k]])) for k in order]


def _correlations(inputs, tr) -> Section:
    if inputs.correlation is None:
        return Section("correlations", tr("section.correlations"), [Paragraph(tr("corr.unknown"), kind="note")])
    pairs = strong_correlations(*inputs.correlation)
    if not pairs:
        return Section("correlations", tr("section.correlations"), [Paragraph(tr("corr.none"), kind="note")])
    rows = tuple((a, b, number(r, 3)) for a, b, r in pairs)
    return Section("correlations", tr("section.correlations"),
                   [Table((tr("col.parameter"), tr("col.parameter"), tr("col.correlation")), rows,
                          numeric=(False, False, True)), Paragraph(tr("corr.intro"), kind="note")])


def _pictures(inputs, figures, tr) -> list[Section]:
    plots = [figure_block(figures, key, tr(f"figure.{key}.title"), tr(f"figure.{key}"), tr, inputs.language)
             for key in ("convergence", "residuals", "trajectories")]
    graph = figure_block(figures, "graph", tr("figure.graph.title"), tr("figure.graph"), tr, inputs.language)
    return [Section("plots", tr("section.plots"), plots), Section("graph", tr("section.graph"), [graph])]


def _notes(inputs, tr) -> Section | None:
    """The console's messages, as printed (in English); a report in another language says how many
    there were and where to read them instead of quoting English."""
    if not inputs.notes:
        return None
    if inputs.language != "en":
        # Pictures that could not be drawn are told in the report's words (result.json's pictures_not_drawn).
        missing = [Paragraph(tr("figure.missing", title=tr(f"plot.name.{p['picture']}")), kind="note")
                   for p in inputs.result.get("pictures_not_drawn") or [] if isinstance(p, dict)]
        return Section("notes", tr("section.notes"), [Paragraph(tr("notes.elsewhere", n=len(inputs.notes)),
                                                                kind="note"), *missing])
    return Section("notes", tr("section.notes"), [Paragraph(tr("notes.intro"), kind="note"),
                                                  Code("\n".join(inputs.notes))])


def _reproducibility(inputs, tr) -> Section:
    result = inputs.result
    data = result.get("data") or {}
    rows = [(tr("repro.command"), inputs.command or command_line()),
            (tr("repro.sha"), data.get("sha256", "—")),
            (tr("repro.versions"), f"workbench {__version__}, numpy {np.__version__}, "
                                   f"Python {platform.python_version()}"),
            (tr("repro.seed"), result.get("seed")),
            (tr("repro.runtime"), tr("repro.runtime_value", seconds=number(result.get("elapsed_s"), 3))),
            (tr("repro.folder"), inputs.out_dir)]
    return Section("reproducibility", tr("section.reproducibility"),
                   [_key_values(rows, tr), Code(_resolved_config(inputs.config), caption=tr("repro.config"))])


def sections(inputs, figures, tr) -> list[Section]:
    """The appendix's sections, in reading order."""
    parts = [_data(inputs, tr), _model(inputs, tr), _gradient_check(inputs, tr), _correlations(inputs, tr),
             *_pictures(inputs, figures, tr), _notes(inputs, tr), _reproducibility(inputs, tr)]
    return [p for p in parts if p is not None]


def footer(inputs, tr) -> str:
    result = inputs.result
    return tr("report.footer", version=__version__, seed=result.get("seed"),
              sha=(result.get("data") or {}).get("sha256", "—"))
