"""Applying a fitted model to new rows: predictions with 95% confidence and prediction intervals.

At fit time ``prediction_spec.py`` puts into result.json (key ``prediction``) what applying the
model later needs and the parameters alone do not say; ``prediction_io.py`` writes the rows out.

``Predictor.from_result(result)`` rebuilds the model from that; ``predict_file`` reads new rows
exactly as the fit read its data (same ``derive``, same date origins, same column renames,
same categorical levels; the fit's ``where`` filter is not applied: every row given is
predicted) and returns a ``Prediction``: the file's rows with

* least squares: ``prediction``, ``ci_lower``/``ci_upper`` (the mean, ŷ ± t·se with
  se² = gᵀ·Cov·g, g = ∂ŷ/∂θ by the engine, t = t₀.₉₇₅ with the fit's degrees of freedom) and
  ``pi_lower``/``pi_upper`` (a new observation: ŷ ± t·√(se² + s²), s² the residual variance;
  for a weighted fit, a new row of weight 1);
* a 0/1 model: ``probability`` with ``ci_lower``/``ci_upper`` taken through the sigmoid from the
  logit's interval (normal quantile, as for a likelihood fit), so they stay within 0 and 1;
* other losses: ``prediction`` and its confidence interval;
* ``outside_fitted_range``: an input below its fitted minimum or above its maximum.

A row whose inputs are empty or unreadable keeps empty prediction cells and is counted in a
warning. ``forecast_dates`` predicts a range of dates for a model whose one input is a date.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from workbench.errors import InputError
from workbench.pipeline.prediction_io import date_texts, parse_date, parse_every, raw_frame, write_prediction
from workbench.pipeline.prediction_spec import MAX_COVARIANCE_PARAMS, MODEL_STATE, SPEC_VERSION, prediction_spec
from workbench.stats import t_quantile

__all__ = ["prediction_spec", "Predictor", "Prediction", "parse_every", "write_prediction", "MAX_COVARIANCE_PARAMS",
           "MODEL_STATE"]

NORMAL_975 = 1.959963984540054       # the 97.5% quantile of the standard normal
FINISHED_STATUSES = ("converged", "early_stopped")   # a fit whose parameters are an estimate


def _prediction_values(objective, params, columns) -> np.ndarray:
    from workbench import engine as ad

    with ad.no_grad():
        out = objective.predict(params, columns)
    return np.asarray(getattr(out, "data", out), dtype=float)


@dataclasses.dataclass
class Prediction:
    """New rows with their predictions: ``frame`` (a pandas DataFrame indexed like the input),
    ``values`` (prediction or probability, NaN where a row could not be predicted), warnings."""

    frame: Any
    values: np.ndarray
    warnings: list[str]
    main: str = "prediction"             # the frame's column of ``values``: prediction or probability
    added: tuple[str, ...] = ()          # the columns added to the rows (prediction, intervals, flag)


class Predictor:
    """A fitted model rebuilt from result.json, ready for new rows."""

    def __init__(self, result: Mapping, source: str = "result.json"):
        spec = result.get("prediction")
        if not isinstance(spec, Mapping) or spec.get("version") != SPEC_VERSION:
            raise InputError("holds no prediction data (written by an older workbench, or not by a fit): fit "
                             "again to predict from it", where=source)
        from workbench.config import parse_config

        self.result, self.spec, self.source = result, spec, source
        self.config = parse_config(spec["config"], base_dir=Path(spec["config_dir"]), source=source)
        self.inputs: list[str] = list(spec["inputs"])
        self.binary, self.least_squares = bool(spec["binary"]), bool(spec["least_squares"])
        self._build()

    @classmethod
    def from_run_dir(cls, run_dir: Path | str) -> "Predictor":
        import json

        folder = Path(run_dir)
        path = folder / "result.json"
        if not folder.is_dir():
            raise InputError("is not a fit's output folder (no such folder)", where=str(folder))
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("is not a fit's output folder (no result.json)", where=str(folder)) from None
        except (OSError, ValueError) as err:
            raise InputError(f"cannot be read: {err}", where=str(path)) from None
        return cls(result, str(path))

    # ---- the model --------------------------------------------------------------------------
    def _build(self) -> None:
        from workbench.losses import build_loss
        from workbench.models import build_model, parse_model_formula
        from workbench.pipeline.objective import FitObjective

        config = self.config
        _, model_cfg, _ = self._model_data()
        target = self.spec["target"]
        zeros = np.zeros(2)
        columns = {name: np.array([0.5, 1.5]) for name in self.inputs}   # placeholders: starts are unused
        columns[target] = zeros
        loss = build_loss(config.loss)
        model = build_model(model_cfg, columns, formula=parse_model_formula(config.model),
                            table_columns=[target, *self.inputs], seed=config.seed,
                            binary=loss.name == "cross_entropy")
        for key, value in self.spec.get("model_state", {}).items():
            setattr(model, key, np.asarray(value, dtype=float) if len(value) > 1 or key.startswith("x_")
                    else float(value[0]))
        # a model fitted on standardized inputs (standardize: true) runs on its fitted values
        params = (self.result.get("standardization") or {}).get("fitted_params") or self.result["params"]
        fixed = {p.name: np.asarray(params[p.name], dtype=float) for p in model.params
                 if (spec := config.params.get(p.name)) is not None and spec.fixed and p.name in params}
        free = [p for p in model.params if p.name not in fixed]
        x = []
        for p in free:
            names = [p.name] if p.shape == () else [f"{p.name}[{','.join(map(str, i))}]" for i in np.ndindex(*p.shape)]
            x += [params[name] for name in names]
        self.model, self.loss = model, loss
        self.x = np.array(x, dtype=float)
        self.objective = FitObjective(model, loss, {c: columns[c] for c in model.inputs}, zeros, None, free, fixed)
        cov = self.spec.get("covariance")
        self.covariance = None if cov is None else np.array(cov, dtype=float)

    def _model_data(self, data_path: Path | None = None, sheet=None, reading: Mapping | None = None):
        from workbench.pipeline.prepare import model_data

        config = self.config
        if data_path is not None:
            # every row is predicted that can be: one that cannot (an empty or unreadable input, a
            # derived value that is not finite, a level the fit never saw) keeps empty cells
            data = dataclasses.replace(config.data, path=Path(data_path), sheet=sheet, where=None, missing="drop",
                                       unreadable="drop", max_dropped=1.0, derive=self._needed_derive(),
                                       dates=self._dates_with_origins(), **dict(reading or {}))
            config = dataclasses.replace(config, data=data)
        options, model_config, levels = model_data(config, self.spec.get("levels") or None)
        if data_path is not None:       # new rows that cannot decide their decimal mark take the fit's
            options.decimal_fallback = self.spec.get("decimal_mark")
        return options, model_config, levels

    def _dates_with_origins(self) -> dict:
        """The fit's date columns with the origins their days counted from and the formats it read
        them with (given or inferred: ``08/01/2023`` in new rows is read as the fit read its dates)."""
        from workbench.data.dates import ISO

        dates = {name: dict(spec) for name, spec in self.config.data.dates.items()}
        for name, origin in self.spec.get("date_origins", {}).items():
            dates.setdefault(name, {"format": None})["origin"] = origin
        for name, fmt in (self.spec.get("date_formats") or {}).items():
            spec = dates.setdefault(name, {"origin": None, "format": None})
            if spec.get("format") is None and fmt != ISO:
                spec["format"] = fmt
        return dates

    def _needed_derive(self) -> dict[str, str]:
        """The derived columns the inputs depend on (a target derived from a column the new rows
        lack, such as Status, is not computed)."""
        from workbench.formula.table import parse_table_expression

        derive = dict(self.config.data.derive or {})
        wanted = set(self.file_inputs(derived=True))
        for name in reversed(list(derive)):
            if name in wanted:
                wanted |= set(parse_table_expression(derive[name], where=f"data.derive.{name}").names)
        return {name: text for name, text in derive.items() if name in wanted}

    def file_inputs(self, derived: bool = False) -> list[str]:
        """Columns the model reads: its inputs, with categorical indicators as their column; with
        ``derived``, derived names are kept as they are (else they are left out)."""
        levels = self.spec.get("levels") or {}
        names = []
        for name in self.inputs:
            source = next((c for c in levels if name.startswith(f"{c}[") and name.endswith("]")), name)
            names.append(source)
        names = list(dict.fromkeys(names))
        return names if derived else [n for n in names if n not in (self.config.data.derive or {})]

    # ---- the fit's status ---------------------------------------------------------------------
    @property
    def unconverged(self) -> str | None:
        """Why the fit's parameters are not an estimate (its status and message), or None when it
        converged (or stopped early on its validation rows, which is a result too)."""
        status = self.result.get("status")
        if self.result.get("converged") or status in FINISHED_STATUSES:
            return None
        message = self.result.get("message")
        return f"status {status}" + (f": {message}" if message else "")

    def check_status(self, force: bool, option: str = "--force (force=True in Python)") -> list[str]:
        """Refuse a fit that did not converge (``InputError``) unless ``force``; then the warning."""
        why = self.unconverged
        if why is None:
            return []
        if not force:
            raise InputError(f"the fit did not converge ({why}), so its parameters and intervals are not "
                             f"estimates: fit again, or give {option} to predict from its last parameters",
                             where=self.source)
        return [f"the fit did not converge ({why}): these predictions and intervals come from its last "
                f"parameters, not from an optimum (column fit_status)"]

    # ---- new rows ---------------------------------------------------------------------------
    def predict_file(self, path: Path | str, sheet=None, *, force: bool = False, **reading) -> Prediction:
        """Predictions for every row of the file at ``path`` (CSV or Excel, read like the fit's data;
        ``reading`` replaces data options such as ``decimal``). A fit that did not converge is
        refused unless ``force`` (``check_status``)."""
        from workbench.data.multi import is_pattern, matching_files

        status_warnings = self.check_status(force)
        if is_pattern(path) and not Path(path).is_file():      # a glob: each file read and predicted on its own
            files = matching_files(Path(path), "data")
            return _joined([(f, self._predict_rows_of(f, sheet, reading, one_of_files=True)) for f in files],
                           status_warnings)
        prediction = self._predict_rows_of(Path(path), sheet, reading)
        return dataclasses.replace(prediction, warnings=status_warnings + prediction.warnings)

    def _predict_rows_of(self, path: Path, sheet, reading: Mapping, one_of_files: bool = False) -> Prediction:
        """``predict_file`` of one file, with the file's own warnings only (the fit's status is
        checked once by the caller, for all the files of a glob, whose messages name the file)."""
        from workbench.data import load_dataset
        from workbench.data.source import read_raw

        options, _, _ = self._model_data(path, sheet, reading)
        options = dataclasses.replace(options, check_texts=False)   # new rows may lack a value the fit's had
        plain = dataclasses.replace(options, derive={}, categorical={})
        raw = read_raw(plain, "data")
        self._require_columns(raw, options)
        table = read_raw(options, "data")
        dataset = load_dataset(options, self.inputs, one_of_files=one_of_files)
        frame = raw_frame(table, [*raw.names, *(options.derive or {})])
        n_rows = len(table.row_numbers)
        at = np.searchsorted(table.row_numbers, dataset.row_numbers)
        columns = {name: np.full(n_rows, np.nan) for name in self.inputs}
        for name in self.inputs:
            columns[name][at] = dataset.columns[name]
        usable = np.zeros(n_rows, dtype=bool)
        usable[at] = True
        warnings = [] if usable.all() else [_unpredicted(dataset, int((~usable).sum()), n_rows)]
        warnings += list(dataset.warnings) + self._percent_scale(dataset, path)
        return self._finish(frame, columns, usable, warnings)

    def _percent_scale(self, dataset, path: Path) -> list[str]:
        """A warning for each input the fit read as percentages (23.2% as 0.232) that this file
        writes as plain numbers: 23.2 is then 23.2, a hundred times the fitted scale."""
        fitted = (self.result.get("data") or {}).get("percent_columns") or []
        now = set(getattr(dataset, "percent_columns", ()) or ())
        return [f"{path.name} column {name!r} holds plain numbers, but the fit read it as percentages "
                f"(23.2% as 0.232): a plain 23.2 is read as 23.2, a hundred times that scale; write the "
                f"values with % (or as fractions)" for name in fitted if name in self.inputs and name not in now]

    def _require_columns(self, raw, options) -> None:
        from workbench.formula.table import parse_table_expression

        needed = [n for n in self.file_inputs()]
        for key, text in (options.derive or {}).items():
            needed += [n for n in parse_table_expression(text, where=f"data.derive.{key}").names
                       if n not in options.derive]
        missing = [n for n in dict.fromkeys(needed) if n not in raw.names]
        if missing:
            raise InputError(f"{raw.path.name} lacks the column{'s' if len(missing) > 1 else ''} the model needs: "
                             f"{', '.join(missing)}; columns are: {', '.join(raw.names)}", where=str(raw.path))

    def forecast_dates(self, until: str, every: str, start: str | None = None, *, force: bool = False) -> Prediction:
        """Predictions from ``start`` (default: one step after the last fitted date) to ``until``,
        every ``every``, for a model whose one input is a date column (``force``: see ``predict_file``)."""
        import pandas as pd

        status_warnings = self.check_status(force)
        origins = self.spec.get("date_origins", {})
        if len(self.inputs) != 1 or self.inputs[0] not in origins:
            raise InputError(f"--until needs a model whose one input is a date column; this one reads "
                             f"{', '.join(self.inputs)}: give a DATA file instead", where="--until")
        name, step = self.inputs[0], parse_every(every)
        origin = np.datetime64(origins[name]).astype("datetime64[ns]")
        last = origin + np.timedelta64(int(round(self.spec["input_ranges"][name][1] * 86_400e9)), "ns")
        first = parse_date(start, "--from") if start else last + step
        end = parse_date(until, "--until")
        if end < first:
            raise InputError(f"{until} is before the first forecast date {pd.Timestamp(first).isoformat()}",
                             where="--until")
        count = int((end - first) // step) + 1
        if count > 1_000_000:
            raise InputError(f"{count:,} dates: choose a larger --every or an earlier --until", where="--until")
        stamps = first + step * np.arange(count)
        days = (stamps - origin) / np.timedelta64(1, "D")
        texts = date_texts(stamps)
        frame = pd.DataFrame({name: texts})
        return self._finish(frame, {name: days.astype(float)}, np.ones(count, dtype=bool), status_warnings)

    def predict_columns(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The prediction columns for numeric input columns (days for dates, 0/1 indicators)."""
        n = len(next(iter(columns.values())))
        usable = np.all([np.isfinite(np.asarray(columns[c], dtype=float)) for c in self.inputs], axis=0) \
            if self.inputs else np.ones(n, dtype=bool)
        return self._intervals({c: np.asarray(columns[c], dtype=float) for c in self.inputs}, usable)

    def _finish(self, frame, columns, usable, warnings) -> Prediction:
        out = self._intervals(columns, usable)
        if self.unconverged is not None:         # predicting anyway (force): every row says so
            out["fit_status"] = np.full(len(usable), self.result.get("status"), dtype=object)
        for key, values in out.items():
            frame[key] = values
        outside = int(out["outside_fitted_range"].sum())
        if outside:
            ranges = ", ".join(self._range_text(n, lo, hi) for n, (lo, hi) in self.spec["input_ranges"].items()
                               if n in self._ranged())
            warnings.append(f"{outside} of {len(usable)} rows have inputs outside the fitted range ({ranges}): "
                            f"their predictions are extrapolations (column outside_fitted_range)")
        main = "probability" if self.binary else "prediction"
        return Prediction(frame, np.asarray(out[main], dtype=float), warnings, main, tuple(out))

    def _range_text(self, name: str, lo: float, hi: float) -> str:
        """An input's fitted range as the user knows it: dates for a date column, else numbers."""
        origin = (self.spec.get("date_origins") or {}).get(name)
        if origin is None:
            return f"{name} {lo:g} to {hi:g}"
        start = np.datetime64(origin).astype("datetime64[ns]")
        low, high = date_texts([start + np.timedelta64(int(round(d * 86_400e9)), "ns") for d in (lo, hi)])
        return f"{name} {low} to {high}"

    def _ranged(self) -> list[str]:
        levels = self.spec.get("levels") or {}
        return [n for n in self.spec["input_ranges"] if not any(n.startswith(f"{c}[") for c in levels)]

    def _intervals(self, columns: Mapping[str, np.ndarray], usable: np.ndarray) -> dict[str, np.ndarray]:
        n = len(usable)
        rows = np.flatnonzero(usable)
        eta, se = np.full(n, np.nan), np.full(n, np.nan)
        if len(rows):
            subset = {c: np.asarray(columns[c], dtype=float)[rows] for c in self.inputs}
            with np.errstate(all="ignore"):
                eta[rows] = _prediction_values(self.objective, self.objective.unpack(self.x), subset)
                if self.covariance is not None:
                    grad = self._gradient(subset)
                    se[rows] = np.sqrt(np.clip(np.sum((grad @ self.covariance) * grad, axis=1), 0.0, None))
        out: dict[str, np.ndarray] = {}
        dof = self.spec["dof"]
        with np.errstate(all="ignore"):
            if self.binary:
                z = NORMAL_975
                link = _sigmoid if self.loss.from_logits else (lambda v: np.clip(v, 0.0, 1.0))
                out["probability"] = link(eta)
                out["ci_lower"], out["ci_upper"] = link(eta - z * se), link(eta + z * se)
            else:
                t = t_quantile(0.975, dof) if dof > 0 else math.inf
                out["prediction"] = eta
                out["ci_lower"], out["ci_upper"] = eta - t * se, eta + t * se
                s2 = self.spec.get("residual_variance")
                if self.least_squares and s2 is not None:
                    half = t * np.sqrt(se * se + s2)
                    out["pi_lower"], out["pi_upper"] = eta - half, eta + half
        out["outside_fitted_range"] = self._outside(columns, usable)
        return out

    def _gradient(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """∂(model output)/∂θ for each row, by the engine's forward mode."""
        from workbench.pipeline.objective import FitObjective

        obj = self.objective
        local = FitObjective(self.model, self.loss, columns, np.zeros(len(next(iter(columns.values())))), None,
                             obj.free, obj.fixed)
        return local.model_jacobian(self.x)

    def _outside(self, columns: Mapping[str, np.ndarray], usable: np.ndarray) -> np.ndarray:
        outside = np.zeros(len(usable), dtype=bool)
        ranges = self.spec["input_ranges"]
        for name in self._ranged():
            lo, hi = ranges[name]
            values = np.asarray(columns[name], dtype=float)
            slack = 1e-12 * max(abs(lo), abs(hi), 1.0)
            with np.errstate(invalid="ignore"):
                outside |= usable & ((values < lo - slack) | (values > hi + slack))
        return outside


def _joined(parts: list[tuple[Path, Prediction]], status_warnings: list[str]) -> Prediction:
    """The predictions of several files as one, the rows in file order with a ``file`` column first;
    the fit's ``status_warnings`` first, then each file's own warnings named by the file."""
    import pandas as pd

    frames, warnings = [], list(status_warnings)
    for path, part in parts:
        frame = part.frame.copy()
        frame.insert(0, "file" if "file" not in frame.columns else "source_file", path.name)
        frames.append(frame)
        warnings += [f"{path.name}: {w}" for w in part.warnings]
    first = parts[0][1]
    return Prediction(pd.concat(frames), np.concatenate([part.values for _, part in parts]), warnings,
                      first.main, first.added)


def _unpredicted(dataset, count: int, n_rows: int) -> str:
    """The warning line about rows left without a prediction, counted by reason."""
    account = dataset.account
    why = f"{account.reasons()}; first at row {account.first_row}" if account is not None else \
        dataset.summary_sentence
    return f"{count} of {n_rows} rows could not be predicted ({why}); their prediction cells are empty"


def _sigmoid(v: np.ndarray) -> np.ndarray:
    small = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + small), small / (1.0 + small))
