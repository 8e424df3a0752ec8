"""The workbench from Python: fit a config, read its numbers, predict new rows, write the outputs.

    import workbench
    fit = workbench.fit("config.yaml")                          # or a dict; data= a DataFrame
    fit = workbench.fit({"model": {"formula": "y ~ a*exp(-b*x)"}, "params": {"a": 1, "b": 0.1}},
                        data=df, optimizer={"name": "lm"})      # keyword arguments override config keys
    fit.params["a"], fit.stderr["a"], fit.converged, print(fit.summary())
    fit.predict(new_df)                     # array of predictions (probabilities for a 0/1 model)
    fit.predict(new_df, intervals=True)     # DataFrame: the rows plus prediction, ci_*, pi_*, ...
    fit.write("reports/x")                  # the files `workbench fit` writes
    fit = workbench.load("reports/x")       # a fit written before: numbers and predict, no refit

These are the functions the command line runs: ``fit`` is ``run_fit`` (what ``workbench fit``
calls) on the same validated config, and ``predict`` is ``Predictor`` (what ``workbench
predict`` calls). A DataFrame is handed over as a CSV file in a private temporary folder, so it
is read exactly as a file would be (derived columns, dates, categorical levels). Bad input raises
the same ``InputError`` the command line reports with exit 2; a divergence ``DivergedError``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
import re
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import InputError

__all__ = ["fit", "load", "Fit"]

_CSV_READING = {"sheet": None, "header_row": None, "delimiter": ",", "decimal": ".", "thousands": None}
_DATA_FILE, _ROWS_FILE = "data.csv", "rows.csv"       # a DataFrame handed over as a file
# "data.csv row 2", "(e.g. row 2: ...)", "first at row 3": a row of the CSV a DataFrame became
_CSV_ROW = re.compile(rf"(?:(?:{re.escape(_DATA_FILE)}|{re.escape(_ROWS_FILE)}) )?\brow (\d+)\b")


def fit(config: str | Path | Mapping, *, data: Any = None, **overrides: Any) -> "Fit":
    """Fit ``config`` (a YAML file or a mapping like one) and return the ``Fit``; nothing is written.

    ``data``: a pandas DataFrame used instead of ``data.path`` (the other data options, such as
    ``derive`` and ``dates``, still apply). Keyword arguments replace config keys, merged into
    sections: ``optimizer={"name": "lm"}`` changes only the optimizer's name."""
    from workbench.pipeline.fit import run_fit

    folder = tempfile.TemporaryDirectory(prefix="workbench-fit-")
    try:
        cfg = _config(config, data, overrides, Path(folder.name))
        without_plots = dataclasses.replace(cfg, output=dataclasses.replace(cfg.output, plots=False))
        outcome = run_fit(without_plots, Path(folder.name) / "run", reports=False, staged=False)
    except InputError as err:
        if data is None:
            raise
        raise InputError(_in_index_terms(str(err), data.index)) from None
    outcome.prepared.config = cfg          # written later as the config says (plots included)
    return Fit(outcome.result, outcome=outcome, keep=folder)


def load(run_dir: str | Path) -> "Fit":
    """The fit whose outputs are in ``run_dir`` (a folder ``workbench fit`` or ``Fit.write`` wrote)."""
    from workbench.pipeline.predict import Predictor

    predictor = Predictor.from_run_dir(run_dir)
    return Fit(predictor.result, run_dir=Path(run_dir), predictor=predictor)


class Fit:
    """A fitted model: its numbers (from result.json's content), predictions and outputs."""

    def __init__(self, result: dict, *, outcome=None, run_dir: Path | None = None, predictor=None, keep=None):
        self.result = result
        self._outcome, self._predictor, self._keep = outcome, predictor, keep
        self.run_dir = run_dir

    @property
    def params(self) -> dict[str, float]:
        """Every scalar parameter's value, fixed ones included."""
        return dict(self.result["params"])

    @property
    def stderr(self) -> dict[str, float]:
        """Standard errors; NaN where one could not be estimated (fixed, at a bound, singular)."""
        return {k: math.nan if v is None else v for k, v in self.result["stderr"].items()}

    @property
    def converged(self) -> bool:
        return bool(self.result["converged"])

    @property
    def metrics(self) -> dict:
        return dict(self.result["metrics"])

    def summary(self) -> str:
        """Parameters ± standard error, the loss, R² and why the optimizer stopped, as text."""
        r = self.result
        names = list(r["params"])
        width = max([len(n) for n in names] + [9])
        lines = [f"{r['name']}: {r['model']}", f"  {'parameter':<{width}}  {'value':>14}  {'std. error':>12}"]
        for name in names:
            stderr = r["stderr"].get(name)
            lines.append(f"  {name:<{width}}  {r['params'][name]:>14.8g}  "
                         f"{'—' if stderr is None else format(stderr, '.4g'):>12}")
        m = r["metrics"]
        shown = {k: ("—" if m.get(k) is None else format(m[k], ".4g")) for k in ("r2", "rmse")}
        loss = "—" if r["loss"] is None else format(r["loss"], ".6g")
        lines.append(f"  loss {loss}   R² {shown['r2']}   RMSE {shown['rmse']}   rows {m.get('n')}")
        state = "converged" if r["converged"] else "DID NOT CONVERGE"
        count = r["iterations"]
        lines.append(f"  {state} after {count} step{'' if count == 1 else 's'} ({r['optimizer']}): {r['message']}")
        lines += [f"  warning: {w}" for w in r.get("warnings", [])]
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "converged" if self.converged else "not converged"
        values = ", ".join(f"{k}={v:.6g}" for k, v in list(self.params.items())[:6])
        return f"<workbench.Fit {self.result['name']!r} {state}: {values}{', …' if len(self.params) > 6 else ''}>"

    # ---- predictions -------------------------------------------------------------------------
    @property
    def predictor(self):
        if self._predictor is None:
            from workbench.pipeline.predict import Predictor

            self._predictor = Predictor(self.result, f"fit {self.result['name']!r}")
        return self._predictor

    def predict(self, rows, intervals: bool = False, force: bool = False):
        """Predictions for the rows of a DataFrame (with the columns the fit's data had): an array
        (NaN where a row's inputs are empty or unreadable), or with ``intervals`` a DataFrame of the
        rows plus prediction (or probability), ci_lower, ci_upper, pi_lower, pi_upper and
        outside_fitted_range, indexed like ``rows``. A fit that did not converge raises
        ``InputError`` unless ``force`` (then a ``UserWarning`` says so, and with ``intervals``
        a fit_status column)."""
        import pandas as pd

        if not isinstance(rows, pd.DataFrame):
            raise InputError(f"predict takes a pandas DataFrame, got {type(rows).__name__}", where="predict")
        with tempfile.TemporaryDirectory(prefix="workbench-predict-") as folder:
            path = _write_frame(rows, Path(folder) / _ROWS_FILE)
            try:
                prediction = self.predictor.predict_file(path, force=force, **_CSV_READING)
            except InputError as err:
                raise InputError(_in_index_terms(str(err), rows.index)) from None
        for line in prediction.warnings:          # the lines `workbench predict` prints on stderr
            warnings.warn(_in_index_terms(line, rows.index), UserWarning, stacklevel=2)
        lines = range(2, len(rows) + 2)        # the CSV's header is line 1, row i is line i + 2
        added = prediction.frame.reindex(lines)[list(prediction.added)]
        flag = added["outside_fitted_range"]                 # a row of empty cells is no line of the file
        added["outside_fitted_range"] = flag.where(flag.notna(), False).astype(bool)
        added.index = rows.index
        if intervals:
            return pd.concat([rows, added], axis=1)
        return added[prediction.main].to_numpy(dtype=float)

    # ---- outputs -------------------------------------------------------------------------------
    def write(self, out_dir: str | Path, *, reports: bool = True) -> Path:
        """Write the files `workbench fit` writes (result.json, params.csv, predictions.csv,
        history.csv, plots, reports) into ``out_dir``, as one set; returns the folder."""
        if self._outcome is None:
            raise InputError(f"this fit was loaded from {self.run_dir}, where its files already are", where="write")
        from workbench.pipeline.dask_results import refuse_lost_parts
        from workbench.pipeline.outputs import write_outputs

        refuse_lost_parts(self._outcome)       # a cluster fit's predictions: the parts its workers wrote
        self._outcome.out_dir = Path(out_dir)
        self._outcome.destination = None
        write_outputs(self._outcome, reports=reports)
        self.run_dir = Path(out_dir)
        return self.run_dir


def _config(config, data, overrides: Mapping[str, Any], folder: Path):
    from workbench.config import parse_config, read_config_mapping

    if isinstance(config, (str, Path)):
        path = Path(config)
        raw, base_dir, source, default_name = read_config_mapping(path), path.resolve().parent, str(path), path.stem
    elif isinstance(config, Mapping):
        raw, base_dir, source, default_name = copy.deepcopy(dict(config)), Path.cwd(), "<config>", "run"
        path = None
    else:
        raise InputError(f"must be a config file's path or a mapping, got {type(config).__name__}", where="config")
    for key, value in overrides.items():
        raw[key] = _merged(raw.get(key), value)
    if data is not None:
        given = raw.get("data")
        section = dict(given) if isinstance(given, Mapping) else {}
        raw["data"] = {**section, **_CSV_READING, "path": str(_write_frame(data, folder / _DATA_FILE))}
    parsed = parse_config(raw, base_dir=base_dir, source=source, default_name=default_name)
    return parsed if path is None else dataclasses.replace(parsed, path=path.resolve())


def _merged(base: Any, value: Any) -> Any:
    """``value`` merged into ``base`` key by key where both are mappings; else ``value``."""
    if isinstance(base, Mapping) and isinstance(value, Mapping):
        out = dict(base)
        for key, item in value.items():
            out[key] = _merged(base.get(key), item)
        return out
    return copy.deepcopy(value)


def _in_index_terms(message: str, index) -> str:
    """``message`` about the CSV a DataFrame was handed over as, with its rows named by the
    DataFrame's index labels: the CSV's row 2 (after the header) is the DataFrame's first row."""
    def label(match: re.Match) -> str:
        position = int(match.group(1)) - 2
        if not 0 <= position < len(index):
            return match.group(0)
        value = index[position]
        return f"index {value if isinstance(value, numbers.Integral) else repr(value)}"

    return _CSV_ROW.sub(label, message)


def _write_frame(frame, path: Path) -> Path:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"must be a pandas DataFrame, got {type(frame).__name__}", where="data")
    if frame.empty:
        raise InputError("the DataFrame has no rows", where="data")
    frame.to_csv(path, index=False, lineterminator="\n")
    return path
