"""What a report says, gathered once and formatted as text, for the HTML and the PDF alike.

``report_content(outcome)`` returns a plain dict (strings, lists, figures), in the order the
report shows it: title and summary, data, model and loss, parameters, fit quality, plots, the
gradient check, the computational graph, and the reproducibility footer. Nothing here draws or
writes; the renderers only lay this out.
"""

from __future__ import annotations

import datetime as dt
import platform
import shlex
import sys
from pathlib import Path

import numpy as np

from workbench import __version__
from workbench.report import sentences
from workbench.report.text import number, percent

MAX_PARAM_ROWS = 40
MAX_CORRELATIONS = 12
CORRELATION_SHOWN = 0.5

QUALITY_LABELS = (
    ("r2", "R²", "share of the variation in the target the model explains (1 is perfect)"),
    ("rmse", "RMSE", "typical size of an error, in the target's units"),
    ("mae", "MAE", "average absolute error, in the target's units"),
    ("accuracy", "Accuracy", "share of rows classified correctly"),
    ("log_loss", "Log loss", "average surprise of the predicted probabilities (lower is better)"),
    ("chi_square", "Chi-square", "weighted sum of squared residuals"),
    ("reduced_chi_square", "Reduced chi-square", "chi-square per degree of freedom"),
    ("aic", "AIC", "Akaike information criterion (lower is better, for comparing models)"),
    ("bic", "BIC", "Bayesian information criterion (lower is better, for comparing models)"),
    ("n", "Rows", "rows the numbers are computed on"),
)


def command_line() -> str:
    """The command as the user typed it (for ``python -m workbench`` too)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("python")
    if program.name.startswith("workbench") or (program.name == "__main__.py" and program.parent.name == "workbench"):
        return shlex.join(["workbench", *sys.argv[1:]])
    return shlex.join([program.name, *sys.argv[1:]]) + "  (workbench called from Python)"


def _resolved_config(config) -> str:
    try:
        from workbench.config import to_yaml

        return to_yaml(config)
    except Exception:  # noqa: BLE001 - fall back to the mapping as given
        import yaml

        return yaml.safe_dump(getattr(config, "raw", {}) or {}, sort_keys=False, allow_unicode=True)


def _data_section(outcome) -> dict:
    prepared = outcome.prepared
    dataset, data = prepared.dataset, outcome.result.get("data") or {}
    dropped = [f"row {row}: {why}" for row, why in list(getattr(dataset, "dropped", []) or [])[:10]]
    n_dropped = int(data.get("rows_dropped", getattr(dataset, "n_dropped", 0)) or 0)
    if n_dropped > len(dropped) and dropped:
        dropped.append(f"… and {n_dropped - len(dropped)} more")
    rows = [("File", str(data.get("path", dataset.path))),
            ("Sheet", str(data.get("sheet")) if data.get("sheet") else "— (a text file)"),
            ("Rows read", str(data.get("rows_read", "—"))),
            ("Rows used", str(data.get("rows_used", dataset.n))),
            ("Rows dropped", str(n_dropped))]
    n_val = len(prepared.val_rows)
    if n_val:
        rows.append(("Held out for validation", f"{n_val} rows ({percent(n_val / dataset.n, 0)}, chosen "
                                                 f"with seed {prepared.config.seed})"))
    return {"rows": rows, "dropped": dropped}


def _model_section(outcome) -> dict:
    prepared = outcome.prepared
    cfg, loss = prepared.config.model, prepared.loss
    if cfg.formula:
        rows = [("Formula", str(cfg.formula))]
    else:
        rows = [("Model", outcome.result.get("model") or prepared.model.describe())]
        relevant = {"polynomial": ("degree",), "mlp": ("hidden", "activation")}.get(cfg.type, ())
        options = [f"{k} {getattr(cfg, k)}" for k in relevant if getattr(cfg, k, None) not in (None, (), [])]
        rows.append(("Built-in type", cfg.type + (f" ({', '.join(options)})" if options else "")))
    rows.append(("Inputs → target", f"{', '.join(prepared.model.inputs) or '—'} → {prepared.model.target}"))
    extras = []
    if loss.name in ("huber", "soft_l1"):
        extras.append(f"delta {number(loss.delta)}")
    if loss.l1 or loss.l2:
        extras.append(f"regularization l1 {number(loss.l1)}, l2 {number(loss.l2)}")
    if prepared.config.loss.weights:
        extras.append(f"weights from column {prepared.config.loss.weights}")
    rows.append(("Loss", loss.name + (f" ({'; '.join(extras)})" if extras else "")))
    rows.append(("Optimizer", f"{outcome.result.get('optimizer')}: {outcome.result.get('message')}"))
    return {"rows": rows}


def _bound_flag(value: float, low, high) -> str:
    tol = 1e-9 * max(1.0, abs(value))
    if low is not None and abs(value - low) <= tol:
        return "at lower bound"
    if high is not None and abs(value - high) <= tol:
        return "at upper bound"
    return ""


def _parameters(outcome) -> dict:
    table = outcome.params_table
    rows = []
    for r in table[:MAX_PARAM_ROWS]:
        flag = "fixed" if r["fixed"] else _bound_flag(r["value"], r["min"], r["max"])
        interval = "—" if r["ci_low"] is None else f"{number(r['ci_low'])} to {number(r['ci_high'])}"
        rows.append({"name": r["name"], "value": number(r["value"], 6), "stderr": number(r["stderr"], 3),
                     "interval": interval, "flag": flag})
    more = max(0, len(table) - MAX_PARAM_ROWS)
    return {"rows": rows, "more": f"… and {more} more parameters in params.csv" if more else ""}


def _correlations(outcome) -> list[dict]:
    corr = getattr(outcome.uncertainty, "correlation", None)
    if corr is None:
        return []
    names = outcome.uncertainty.names
    upper = np.triu(np.nan_to_num(np.asarray(corr, dtype=float)), k=1)
    i, j = np.nonzero(np.abs(upper) > CORRELATION_SHOWN)
    order = np.argsort(-np.abs(upper[i, j]), kind="stable")[:MAX_CORRELATIONS]
    return [{"a": names[i[k]], "b": names[j[k]], "r": number(upper[i[k], j[k]], 3)} for k in order]


def _quality(metrics: dict | None) -> list[dict]:
    if not metrics:
        return []
    return [{"label": label, "value": number(metrics[key], 4) if key != "n" else str(metrics[key]),
             "meaning": meaning}
            for key, label, meaning in QUALITY_LABELS if metrics.get(key) is not None]


def _gradcheck(check) -> dict | None:
    if check is None:
        return None
    from workbench.pipeline.check import tolerance_statement

    points = []
    for p in check.points:
        points.append({"label": p.label[:1].upper() + p.label[1:], "passed": p.passed,
                       "verdict": "passed" if p.passed else "FAILED",
                       "gradient": f"{len(p.gradient)} of {p.n_params}",
                       "worst_gradient": number(p.worst(p.gradient), 2),
                       "jacobian": f"{len(p.jacobian)} entries",
                       "worst_jacobian": number(p.worst(p.jacobian), 2),
                       "forward": "agrees" if p.direction.get("passed", True) else "DISAGREES",
                       "nodes": (f"{p.node_rules} rules ok" if not p.failing_primitives else
                                 "wrong rule: " + ", ".join(p.failing_primitives))})
    return {"passed": check.passed, "points": points, "tolerance": tolerance_statement()["text"]}


def _footer(outcome) -> list[tuple[str, str]]:
    data = outcome.result.get("data") or {}
    return [("Command", getattr(outcome, "command", None) or command_line()),
            ("Data file SHA-256", str(data.get("sha256") or getattr(outcome.prepared.dataset, "sha256", "—"))),
            ("Versions", f"workbench {__version__}, numpy {np.__version__}, Python {platform.python_version()}"),
            ("Seed", str(outcome.result.get("seed"))),
            ("Run time", f"{number(outcome.result.get('elapsed_s'), 3)} s to fit"),
            ("Output folder", str(outcome.out_dir))]


def report_content(outcome, figures=(), graph=None) -> dict:
    """Everything the report shows, as text, in order."""
    check = getattr(outcome, "gradcheck", None)
    result = outcome.result
    return {
        "title": f"Fit report: {result.get('name')}",
        "date": dt.datetime.now().strftime("%d %B %Y, %H:%M"),
        "sentences": sentences.summary_sentences(outcome, check),
        "alerts": sentences.alerts(outcome, check),
        "notes": sentences.notes(outcome),
        "data": _data_section(outcome),
        "model": _model_section(outcome),
        "parameters": _parameters(outcome),
        "correlations": _correlations(outcome),
        "has_covariance": getattr(outcome.uncertainty, "covariance", None) is not None,
        "quality": _quality(result.get("metrics")),
        "validation": _quality(result.get("validation_metrics")),
        "figures": list(figures),
        "gradcheck": _gradcheck(check),
        "graph": graph,
        "footer": _footer(outcome),
        "config_yaml": _resolved_config(outcome.prepared.config),
    }
