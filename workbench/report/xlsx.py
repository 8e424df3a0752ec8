"""results.xlsx: the fit's numbers for people who work in Excel, written with xlsxwriter.

Four sheets, labelled in the report's language: ``Summary`` (one labelled quantity per row:
"R²", never ``metrics.r2``), ``Parameters``, ``Predictions`` (every data row with its prediction
and residual, and a native Excel chart of actual against fitted) and ``History`` (the optimizer's
steps). What makes it usable:

* cells hold numbers at full precision, so they equal result.json's; only the *display* is
  rounded, by a number format chosen from each value's magnitude and, for parameters, from its
  standard error (two significant digits of the error);
* a date column is written as Excel dates, not day numbers;
* header rows are frozen and columns sized to their contents;
* text is always written as text: a cell that starts with ``= + - @`` (a column name, a file
  path) can never become a formula;
* a sheet holds at most Excel's 1,048,576 rows; beyond that it says so in its first row and
  where every row is (predictions.csv, history.csv).

Values that are not numbers (NaN, ±inf, none) are left empty, because Excel has no NaN.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np

from workbench.report.i18n import Translator, translator
from workbench.report.plots import SAMPLE_ABOVE
from workbench.report.sentences import gradient_verdict, is_estimate, table_sample
from workbench.report.stops import stop_sentence
from workbench.report.text import count

EXCEL_MAX_ROWS = 1_048_576
PARAMS_COLUMNS = ("name", "value", "stderr", "ci_low", "ci_high", "min", "max", "fixed")
HISTORY_COLUMNS = ("step", "loss", "grad_norm", "lr", "val_loss", "elapsed_s")
RUN_KEYS = ("name", "model", "loss_name", "optimizer", "converged", "status", "message", "iterations",
            "function_evaluations", "loss", "val_loss")
METRIC_KEYS = ("r2", "rmse", "mae", "accuracy", "log_loss", "chi_square", "reduced_chi_square", "aic", "bic", "n")
DATA_KEYS = ("path", "sheet", "rows_read", "rows_used", "rows_dropped", "sha256")
TAIL_KEYS = ("elapsed_s", "seed", "workbench_version")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
MAX_WIDTH = 60


def number_format(value, stderr=None) -> str:
    """An Excel number format that shows ``value`` to the digits that mean something.

    With a standard error: two significant digits of the error (1.2345 ± 0.0123 → 0.000);
    without: four significant digits. Very large or small magnitudes use scientific notation.
    """
    if value is None or not math.isfinite(float(value)) or float(value) == 0:
        return "0" if value == 0 else "General"
    magnitude = math.floor(math.log10(abs(float(value))))
    if stderr is not None and math.isfinite(float(stderr)) and float(stderr) > 0:
        last_digit = math.floor(math.log10(float(stderr))) - 1       # two significant digits of the error
    else:
        last_digit = magnitude - 3
    if magnitude >= 9 or magnitude < -4:
        mantissa = min(max(magnitude - last_digit, 1), 14)
        return "0." + "0" * mantissa + "E+00"
    decimals = min(max(-last_digit, 0), 14)
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


class _Book:
    """An xlsxwriter workbook with cached formats and type-safe cell writing."""

    def __init__(self, path: Path, tr: Translator):
        import xlsxwriter

        self.tr = tr
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                                    "strings_to_urls": False, "strings_to_numbers": False,
                                                    "nan_inf_to_errors": False})
        self._formats: dict[tuple, object] = {}

    def fmt(self, num_format: str | None = None, **props):
        key = (num_format, tuple(sorted(props.items())))
        if key not in self._formats:
            spec = dict(props)
            if num_format:
                spec["num_format"] = num_format
            self._formats[key] = self.book.add_format(spec)
        return self._formats[key]

    def header_format(self):
        return self.fmt(None, bold=True, bg_color="#E8EFF8", bottom=1, text_wrap=True, valign="top")

    def put(self, sheet, row: int, col: int, value, num_format: str | None = None) -> int:
        """Write one cell by its type; returns its display width in characters."""
        if value is None or (isinstance(value, (float, np.floating)) and not math.isfinite(float(value))):
            sheet.write_blank(row, col, None)
            return 0
        if isinstance(value, (bool, np.bool_)):
            text = self.tr("xlsx.yes") if value else self.tr("xlsx.no")
            sheet.write_string(row, col, text)
            return len(text)
        if _is_number(value):
            sheet.write_number(row, col, float(value), self.fmt(num_format or number_format(value)))
            return min(len(f"{float(value):,.6g}") + 2, 20)
        text = str(value)
        sheet.write_string(row, col, text)          # never write(): '=cmd' stays text
        return max(map(len, text.splitlines() or [""]))

    def header(self, sheet, row: int, labels) -> list[int]:
        for col, label in enumerate(labels):
            sheet.write_string(row, col, str(label), self.header_format())
        return [min(len(str(label)) + 2, MAX_WIDTH) for label in labels]

    def close(self) -> None:
        self.book.close()


def _widths(sheet, widths: list[int]) -> None:
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width + 1, 8), MAX_WIDTH))


def _run_rows(result: dict, tr: Translator) -> list[tuple[str, object, str | None]]:
    """The run's rows: names as written, the status and why it stopped in the report's language
    (the optimizer's own English message only in an English workbook)."""
    rows = []
    for key in RUN_KEYS:
        value = result.get(key)
        if value is None or (key == "message" and tr.language != "en"):
            continue
        if key == "status":
            rows.append((tr("xlsx.row.status"), tr(f"xlsx.status.{value}") if f"xlsx.status.{value}" in tr.messages
                         else str(value), None))
            rows.append((tr("xlsx.row.stop"), stop_sentence(result, tr), None))
        else:
            rows.append((tr(f"xlsx.row.{key}"), value, None))
    return rows


def _warning_rows(result: dict, tr: Translator) -> list[tuple[str, object, str | None]]:
    warnings = list(result.get("warnings") or [])
    if warnings and tr.language != "en":            # console text is English: counted, not quoted
        return [(tr("xlsx.row.warning"), tr("notes.elsewhere", n=len(warnings)), None)]
    return [(tr("xlsx.row.warning"), w, None) for w in warnings]


def summary_rows(result: dict, tr: Translator) -> list[tuple[str, object, str | None]]:
    """(label, value, number format or None) of the Summary sheet, in reading order."""
    rows = _run_rows(result, tr)
    for key in METRIC_KEYS:
        value = (result.get("metrics") or {}).get(key)
        if value is not None:
            rows.append((tr(f"xlsx.row.{key}"), value, "#,##0" if key == "n" else None))
    for key in METRIC_KEYS:
        value = (result.get("validation_metrics") or {}).get(key)
        if value is not None:
            rows.append((tr("xlsx.validation", label=tr(f"xlsx.row.{key}")), value, "#,##0" if key == "n" else None))
    data = result.get("data") or {}
    rows += [(tr(f"xlsx.row.{k}"), data.get(k), "#,##0" if k.startswith("rows") else None)
             for k in DATA_KEYS if data.get(k) is not None]
    check = result.get("gradient_check")
    if isinstance(check, dict) and check.get("verdict"):
        rows.append((tr("xlsx.row.gradient_check"), tr(f"xlsx.verdict.{gradient_verdict(result)}"), None))
    rows += [(tr(f"xlsx.row.{k}"), result.get(k), "0.000" if k == "elapsed_s" else "0" if k == "seed" else None)
             for k in TAIL_KEYS if result.get(k) is not None]
    return rows + _warning_rows(result, tr)


def _summary_sheet(book: _Book, result: dict, notes: list[str]) -> None:
    tr = book.tr
    sheet = book.book.add_worksheet(tr("xlsx.sheet.summary"))
    widths = book.header(sheet, 0, (tr("xlsx.quantity"), tr("xlsx.value")))
    for r, (label, value, num_format) in enumerate(summary_rows(result, tr) + [(tr("xlsx.row.warning"), n, None)
                                                                                 for n in notes], start=1):
        widths[0] = max(widths[0], book.put(sheet, r, 0, label))
        widths[1] = max(widths[1], book.put(sheet, r, 1, value, num_format))
    sheet.freeze_panes(1, 0)
    _widths(sheet, widths)


def _parameters_sheet(book: _Book, params_table: list[dict], estimate: bool = True) -> None:
    """One row per parameter; when the fit is no estimate (``sentences.is_estimate``), the interval
    cells say so instead of holding numbers."""
    tr = book.tr
    sheet = book.book.add_worksheet(tr("xlsx.sheet.parameters"))
    widths = book.header(sheet, 0, [tr(f"xlsx.col.{c}") for c in PARAMS_COLUMNS])
    for r, p in enumerate(params_table[:EXCEL_MAX_ROWS - 1], start=1):
        shown = number_format(p["value"], p.get("stderr"))
        for c, key in enumerate(PARAMS_COLUMNS):
            num_format = shown if key in ("value", "ci_low", "ci_high") else None
            if key == "stderr" and p.get("stderr"):
                num_format = number_format(p["stderr"], p["stderr"])
            value = p.get(key)
            if key in ("ci_low", "ci_high") and not estimate and not p.get("fixed"):
                value = tr("xlsx.not_estimate")
            widths[c] = max(widths[c], book.put(sheet, r, c, value, num_format))
    sheet.freeze_panes(1, 1)
    _widths(sheet, widths)


def rows_that_fit(total: int) -> int:
    """Data rows a sheet can hold: all of them, or as many as fit below a note row and the header."""
    return total if total <= EXCEL_MAX_ROWS - 1 else EXCEL_MAX_ROWS - 2


def _date_serials(days: np.ndarray, origin: str) -> tuple[np.ndarray, str]:
    """Excel serial numbers of ``origin`` + ``days``, and a date (or date-time) format."""
    start = dt.datetime.fromisoformat(str(origin))
    serial = (start - EXCEL_EPOCH).total_seconds() / 86_400 + np.asarray(days, dtype=float)
    whole = np.all(np.isclose(serial[np.isfinite(serial)] % 1, 0))
    return serial, "yyyy-mm-dd" if whole else "yyyy-mm-dd hh:mm"


def _prediction_columns(outcome, tr: Translator) -> list[tuple[str, np.ndarray, str | None]]:
    """(header, values, fixed number format) per column of the Predictions sheet."""
    prepared = outcome.prepared
    dates = getattr(prepared.dataset, "date_columns", None) or {}
    units = getattr(prepared.config.data, "units", None) or {}
    columns = []
    for name, values in outcome.predictions.items():
        label = tr(f"xlsx.col.{name}") if name in ("row", "prediction", "residual", "set") else name
        if name in units:
            label = tr("plot.with_unit", name=label, unit=units[name])
        if name == "set":
            values = np.array([tr(f"xlsx.set.{v}") for v in values], dtype=object)
        num_format = "0" if name == "row" else None
        if name in dates:
            values, num_format = _date_serials(values, dates[name])
        columns.append((label, values, num_format))
    return columns


def _column_format(values: np.ndarray) -> str | None:
    """One display format for a numeric column (four significant digits of its typical magnitude),
    or None when its values span more than three orders of magnitude (a loss falling to 1e-12):
    then each cell gets its own."""
    if values.dtype.kind in "iu":
        return "0"
    if values.dtype.kind != "f":
        return "General"
    finite = np.abs(values[np.isfinite(values) & (values != 0)])
    if finite.size == 0:
        return "General"
    if finite.max() > 1e3 * finite.min():
        return None
    return number_format(float(np.median(finite)))


def _write_rows(book: _Book, sheet, first_row: int, columns, n: int, widths: list[int]) -> None:
    shared = [f or _column_format(np.asarray(v)) for _, v, f in columns]
    formats = [book.fmt(f) if f else None for f in shared]
    kinds = [np.asarray(v).dtype.kind for _, v, _ in columns]
    arrays = [np.asarray(v) for _, v, _ in columns]
    for c, values in enumerate(arrays):
        if kinds[c] in "fiu" and n:
            sample = values[:1000]
            widths[c] = max(widths[c], max(min(len(f"{float(v):,.6g}") + 2, 20) for v in sample))
        elif n:
            widths[c] = max(widths[c], max(len(str(v)) for v in values[:1000]))
    for i in range(n):
        r = first_row + i
        for c, values in enumerate(arrays):
            value = values[i]
            if kinds[c] in "fiu":
                if math.isfinite(value):
                    sheet.write_number(r, c, float(value), formats[c] or book.fmt(number_format(value)))
            elif value is not None:
                sheet.write_string(r, c, str(value))


def _cap_note(book: _Book, sheet, shown: int, total: int, file_name: str, width: int) -> int:
    """When rows were cut: a first-row note naming the file with all rows; returns the header row."""
    if shown >= total:
        return 0
    return _note_row(book, sheet, book.tr("xlsx.capped", shown=count(shown), total=count(total), file=file_name),
                     width)


def _note_row(book: _Book, sheet, note: str | None, width: int) -> int:
    """``note`` (if any) across the first row; returns the header row."""
    if note is None:
        return 0
    sheet.merge_range(0, 0, 0, max(width - 1, 0), note, book.fmt(None, bold=True, font_color="#B3261E"))
    return 1


def _predictions_note(tr: Translator, result: dict, shown: int, total: int) -> str | None:
    """Why the predictions sheet does not hold every row: the rows are a sample of a larger table
    (``sentences.table_sample``: a cluster fit, whose every prediction is in its parts folder), or
    only ``shown`` of ``total`` fit in a sheet; None when it holds every row."""
    sample = table_sample(result)
    if sample is not None:
        folder = (result.get("execution") or {}).get("predictions") or "predictions"
        return tr("xlsx.table_sample", shown=count(shown), total=count(sample[1]), folder=folder)
    if shown < total:
        return tr("xlsx.capped", shown=count(shown), total=count(total), file="predictions.csv")
    return None


def _predictions_sheet(book: _Book, outcome) -> tuple[int, int]:
    tr = book.tr
    sheet = book.book.add_worksheet(tr("xlsx.sheet.predictions"))
    columns = _prediction_columns(outcome, tr)
    total = len(outcome.predictions["prediction"])
    n = rows_that_fit(total)
    header_row = _note_row(book, sheet, _predictions_note(tr, outcome.result, n, total), len(columns))
    widths = book.header(sheet, header_row, [label for label, _, _ in columns])
    _write_rows(book, sheet, header_row + 1, columns, n, widths)
    sheet.freeze_panes(header_row + 1, 0)
    _widths(sheet, widths)
    _chart(book, sheet, outcome, columns, header_row, n)
    return n, total


def _chart(book: _Book, sheet, outcome, columns, header_row: int, n: int) -> None:
    """A native Excel chart: actual and fitted against the one input, or fitted against actual."""
    if n == 0:
        return
    tr = book.tr
    prepared = outcome.prepared
    names = list(outcome.predictions)
    target, inputs = prepared.model.target, list(prepared.model.inputs)
    sheet_name = sheet.get_name()
    first, last = header_row + 1, header_row + min(n, SAMPLE_ABOVE)
    chart = book.book.add_chart({"type": "scatter"})
    one_input = len(inputs) == 1 and inputs[0] in names and not prepared.model.binary

    def ref(column: str):
        return [sheet_name, first, names.index(column), last, names.index(column)]

    x_col = inputs[0] if one_input else target
    chart.add_series({"name": tr("xlsx.chart_actual") if one_input else tr("xlsx.chart_fitted"),
                      "categories": ref(x_col), "values": ref(target if one_input else "prediction"),
                      "marker": {"type": "circle", "size": 3, "fill": {"color": "#5D6878"},
                                 "border": {"none": True}}})
    if one_input:
        ordered = bool(np.all(np.diff(np.asarray(outcome.predictions[x_col][:last - first + 1], dtype=float)) >= 0))
        chart.add_series({"name": tr("xlsx.chart_fitted"), "categories": ref(x_col), "values": ref("prediction"),
                          "marker": {"type": "none"} if ordered else {"type": "circle", "size": 3},
                          "line": {"color": "#1F5FA8", "width": 2} if ordered else {"none": True}})
    label = columns[names.index(target)][0]
    chart.set_title({"name": tr("xlsx.chart_title", target=label), "name_font": {"size": 11}})
    chart.set_x_axis({"name": columns[names.index(x_col)][0],
                      "num_format": columns[names.index(x_col)][2] or "General", "major_gridlines": {"visible": False}})
    chart.set_y_axis({"name": label if one_input else tr("plot.predicted", target=label)})
    chart.set_legend({"position": "top"})
    chart.set_size({"width": 640, "height": 360})
    sheet.insert_chart(header_row + 1, len(columns) + 1, chart)


def _history_sheet(book: _Book, history: list[dict]) -> tuple[int, int]:
    tr = book.tr
    sheet = book.book.add_worksheet(tr("xlsx.sheet.history"))
    total = len(history)
    n = rows_that_fit(total)
    header_row = _cap_note(book, sheet, n, total, "history.csv", len(HISTORY_COLUMNS))
    widths = book.header(sheet, header_row, [tr(f"xlsx.col.{c}") for c in HISTORY_COLUMNS])
    columns = [(c, np.array([np.nan if h.get(c) is None else h[c] for h in history[:n]], dtype=float),
                "0" if c == "step" else None) for c in HISTORY_COLUMNS]
    _write_rows(book, sheet, header_row + 1, columns, n, widths)
    sheet.freeze_panes(header_row + 1, 0)
    _widths(sheet, widths)
    return n, total


def write_xlsx(outcome, target: Path) -> Path:
    """Write results.xlsx for ``outcome`` (atomically); returns its path."""
    from workbench.atomic import atomic_path

    language = getattr(getattr(outcome.prepared.config, "report", None), "language", None) or "en"
    tr = translator(language)
    with atomic_path(Path(target)) as tmp:
        book = _Book(tmp, tr)
        n_pred = len(outcome.predictions["prediction"])
        note = _predictions_note(tr, outcome.result, rows_that_fit(n_pred), n_pred)
        notes = [note] if note is not None else []
        _summary_sheet(book, outcome.result, notes)
        _parameters_sheet(book, outcome.params_table, is_estimate(outcome.result))
        _predictions_sheet(book, outcome)
        _history_sheet(book, outcome.history)
        book.close()
    return Path(target)
