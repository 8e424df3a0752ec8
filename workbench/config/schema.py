"""The config schema as data: one row per key, from which everything else is derived.

``SCHEMA`` lists every key of a fit config (dotted path, kind of value, default, check, help).
Validation (``validate.py``), defaults, ``check_key`` (``overrides.py``), the JSON Schema and the
key reference (``export.py``) all read this one table; nothing about a single key is written
anywhere else.

Vocabulary of a row:

* ``kind``: ``section`` (a mapping with the keys listed below it), ``map`` (a mapping from any
  name to values described by the ``<path>.*`` row), or a value kind from ``values.py``.
* ``shorthand``: a section that may be written as one scalar, meaning that child
  (``loss: mse`` is ``loss: {name: mse}``; ``a: 1.0`` under params is ``a: {init: 1.0}``).
* ``when``: the key applies only when another key has one of some values (``loss.delta`` only
  for huber and soft_l1). Given otherwise, it is an error; its default is filled in only then.
* ``default``: a value, or ``Derived`` (a default that depends on another key).
* ``one_of``: of these children of a section exactly one must be given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workbench.optim.options import FIRST_ORDER, OPTIMIZER_NAMES, OPTION_SPECS
from workbench.optim.schedules import SCHEDULE_KEY_SPECS, SCHEDULE_KEYS

MODEL_TYPES = ("linear", "polynomial", "exponential", "power", "gaussian", "michaelis_menten",
               "logistic", "mlp")
SINGLE_INPUT_TYPES = ("polynomial", "exponential", "power", "gaussian", "michaelis_menten")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "softplus")
LOSS_NAMES = ("mse", "sse", "mae", "huber", "soft_l1", "log_cosh", "cross_entropy")
LEAST_SQUARES_LOSSES = ("mse", "sse")
# The optimizer section's names, ranges and schedule keys live once, in workbench.optim.
FIRST_ORDER_OPTIMIZERS = FIRST_ORDER
SCHEDULE_NAMES = tuple(SCHEDULE_KEYS)
REPORT_FORMATS = ("html", "pdf", "xlsx")
REPORT_LANGUAGES = ("en", "ja")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet",)
PREDICTION_FORMATS = ("auto", "csv", "parquet")


@dataclass(frozen=True)
class Range:
    """Numeric bounds; ``describe`` gives the phrase used in error messages."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def describe(self, integer: bool) -> str:
        noun = "integer" if integer else "number"
        positive = (self.low == 0 and self.low_open) or (integer and self.low == 1 and not self.low_open)
        if self.high is None:
            if positive:
                return f"a positive {noun}"
            if self.low is None:
                return f"an {noun}" if integer else "a finite number"
            return f"{'an' if integer else 'a'} {noun} {'>' if self.low_open else '>='} {self.low:g}"
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"a {noun} in {left}{self.low:g}, {self.high:g}{right}"


@dataclass(frozen=True)
class Pattern:
    """A regular expression a string must match in full (ECMA-compatible, for JSON Schema too)."""

    regex: str
    meaning: str            # completes "must be ...", e.g. "a single character"

    def holds(self, value: str) -> bool:
        return re.fullmatch(self.regex, value) is not None


@dataclass(frozen=True)
class When:
    """The key applies only when the key at ``path`` has one of ``values``."""

    path: str
    values: tuple[str, ...]
    note: str = ""          # replaces the generic explanation in error messages

    def explain(self) -> str:
        return self.note or f"only used when {self.path} is {_alternatives(self.values)}"


@dataclass(frozen=True)
class Derived:
    """A default taken from ``table[value of path]``, else ``otherwise``."""

    path: str
    table: tuple[tuple[str, Any], ...]
    otherwise: Any


@dataclass(frozen=True)
class Key:
    path: str
    kind: str
    help: str = ""
    default: Any = None
    required: bool = False
    check: Range | Pattern | None = None
    choices: tuple[str, ...] = ()
    noun: str = ""                     # what a choice names, for "unknown optimizer 'x'"
    when: When | None = None
    shorthand: str | None = None
    one_of: tuple[str, ...] = ()
    names: Pattern | None = None       # for a map: what its keys must look like

    @property
    def name(self) -> str:
        return self.path.rpartition(".")[2]

    @property
    def parent(self) -> str:
        return self.path.rpartition(".")[0]


def _alternatives(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + f" or {values[-1]}"


NON_EMPTY = Pattern(r"[\s\S]*\S[\s\S]*", "a non-empty string")
ONE_CHAR = Pattern(r"[\s\S]", "a single character")
RUN_NAME = Pattern(r"(?!\.\.?$)[^/\\]*[^/\\\s][^/\\]*", "a name without '/' or '\\' (it names the output folder)")
IDENTIFIER = Pattern(r"(?!__)[A-Za-z_][A-Za-z0-9_]*", "a name of letters, digits and _ that does not start "
                                                       "with a digit or '__'")
DELIMITER = Pattern(r"[^\r\n]|\\t|tab|comma|semicolon|pipe|space",
                    "one character, or tab, comma, semicolon, pipe or space")
STRFTIME = Pattern(r"[^%]*%[\s\S]*", "a date format with % codes, such as '%d.%m.%Y'")
FORMULA = Pattern(r"[^~]*\S[^~]*~[^~]*\S[^~]*", "a formula 'target ~ expression'")
POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FOR_BUILTIN = When("model.type", MODEL_TYPES, "only used with a built-in model type; a formula names its "
                                              "columns itself")
FOR_MLP = When("model.type", ("mlp",))
_OPT = "optimizer."
_SCHED = "optimizer.schedule."
_SCHEDULE_NAME = "optimizer.schedule.name"


def _optimizer_keys() -> tuple[Key, ...]:
    """The ``optimizer`` section's rows, generated from the option tables in ``workbench.optim``."""
    rows = [Key("optimizer", "section", "How the loss is minimised (a name is short for {name: ...}).",
                shorthand="name")]
    for spec in OPTION_SPECS:
        path = _OPT + spec.name
        if spec.kind == "choice":
            rows.append(Key(path, "choice", spec.help, choices=OPTIMIZER_NAMES, noun="optimizer"))
        elif spec.kind == "schedule":
            rows.append(Key(path, "section", spec.help, shorthand="name"))
            rows.extend(_schedule_keys())
        else:
            when = When(_OPT + "name", spec.used_by) if spec.strict else None
            rows.append(Key(path, spec.kind, spec.help, default=spec.default, when=when,
                            check=Range(spec.low, spec.high, spec.low_open, spec.high_open)))
    return tuple(rows)


def _schedule_keys() -> list[Key]:
    rows = [Key(_SCHEDULE_NAME, "choice", "The schedule's shape.", required=True, choices=SCHEDULE_NAMES,
                noun="schedule")]
    for spec in SCHEDULE_KEY_SPECS.values():
        users = tuple(name for name, keys in SCHEDULE_KEYS.items() if spec.name in keys)
        rows.append(Key(_SCHED + spec.name, spec.kind, spec.help, when=When(_SCHEDULE_NAME, users),
                        check=Range(spec.low, spec.high, spec.low_open)))
    return rows

SCHEMA: tuple[Key, ...] = (
    Key("name", "str", "Run name; the default output folder is reports/<name>/. Default: the config "
        "file's name without its extension.", check=RUN_NAME),
    Key("data", "section", "The data file and how to read it (a bare path is short for {path: ...}).",
        required=True, shorthand="path"),
    Key("data.path", "str", "CSV, TSV, TXT, Excel (.xlsx, .xlsm) or Parquet file, relative to the config "
        "file; a pattern such as parts/*.parquet reads every matching file, in name order.",
        required=True, check=NON_EMPTY),
    Key("data.sheet", "sheet", "Excel only: a sheet name, or a position (1 = first). Default: the first sheet."),
    Key("data.header_row", "int", "Row holding the column names (1 = first). Default: the first row "
        "that looks like a header, so title lines above the table are skipped.", check=AT_LEAST_ONE),
    Key("data.decimal", "str", "Decimal mark in numbers, '.' or ','. Default: decided from every value in "
        "the file (0,354 has a decimal comma); when nothing decides it (only values like 3,931), reading "
        "stops and asks for it.", check=ONE_CHAR),
    Key("data.thousands", "str", "Thousands separator in numbers, e.g. ',' or ' '. Default: whichever of "
        ", . space ' goes with the decimal mark.", check=ONE_CHAR),
    Key("data.delimiter", "str", "Text files only: the field separator. Default: detected.",
        check=DELIMITER),
    Key("data.columns", "map", "Rename columns before use: old name -> new name.", names=NON_EMPTY),
    Key("data.columns.*", "str", "The new name of the column.", check=NON_EMPTY),
    Key("data.where", "str", "Keep only the rows where this condition holds, e.g. \"price > 0\".",
        check=NON_EMPTY),
    Key("data.dates", "map", "Date columns, each turned into days since a reference date.", names=NON_EMPTY),
    Key("data.dates.*", "section", "One date column (a date is short for {origin: date}; null for "
        "the defaults).", shorthand="origin"),
    Key("data.dates.*.origin", "iso_date", "The reference date (ISO, e.g. 2024-01-01). Default: the "
        "column's earliest date."),
    Key("data.dates.*.format", "str", "The column's date format, e.g. '%d.%m.%Y'. Default: the one "
        "format that reads every value; mixed or ambiguous formats stop with an error.", check=STRFTIME),
    Key("data.derive", "map", "New columns computed before the fit, in order, from the file's columns and "
        "earlier derived ones, e.g. {won: \"Status == 'won'\", price_k: \"Price / 1000\", month: "
        "\"month(date)\"}; a condition gives 1/0.", names=NON_EMPTY),
    Key("data.derive.*", "str", "The column's expression: the formula language plus quoted text compared "
        "with a text column, 'in [...]' lists and the date parts year, month, day, weekday, dayofyear.",
        check=NON_EMPTY),
    Key("data.units", "map", "Units of columns, shown in report tables, axis titles and sentences, e.g. "
        "{price: USD, units: pcs}.", names=NON_EMPTY),
    Key("data.units.*", "str", "The column's unit, as a reader would write it.", check=NON_EMPTY),
    Key("data.missing", "choice", "Rows with an empty cell (or NA, N/A, null) in a used column: drop them "
        "(counted in the summary) or stop with an error.", default="drop", choices=("drop", "error"),
        noun="missing-value policy"),
    Key("data.unreadable", "choice", "Rows with a value that is not a number or date, NaN text, or a "
        "number too large for a float (1e400) in a used column: stop with an error naming the row, or "
        "drop them (counted in the summary).", default="error", choices=("error", "drop"),
        noun="unreadable-value policy"),
    Key("data.max_dropped", "number", "Largest share of rows that may be dropped for empty or unreadable "
        "values (rows a where filter leaves out do not count); above it the fit refuses.", default=0.10,
        check=Range(0, 1)),
    Key("data.limits", "section", "Size limits checked before a data file is read."),
    Key("data.limits.file_mb", "number", "Largest data file read, in megabytes.", default=4096,
        check=POSITIVE),
    Key("data.limits.unzipped_mb", "number", "Largest size an Excel workbook may expand to when "
        "opened (its zip's parts together), in megabytes.", default=256, check=POSITIVE),
    Key("model", "section", "What is fitted: a formula, or a built-in model type.", required=True,
        one_of=("formula", "type")),
    Key("model.formula", "str", "target ~ expression of columns and parameters, e.g. "
        "\"y ~ a * exp(-b * x) + c\".", check=FORMULA),
    Key("model.type", "choice", "A built-in model.", choices=MODEL_TYPES, noun="model type"),
    Key("model.inputs", "str_list", "Input column(s) of a built-in model: a name or a list of names.",
        when=FOR_BUILTIN),
    Key("model.input", "str", "The input column of a one-input model (same as inputs: [name]).",
        check=NON_EMPTY, when=FOR_BUILTIN),
    Key("model.target", "str", "The column a built-in model predicts.", check=NON_EMPTY, when=FOR_BUILTIN),
    Key("model.categorical", "str_list", "Text columns used as categories: one 0/1 input per level but the "
        "first in sorted order (the reference), with parameters named like region[North].",
        when=When("model.type", ("linear", "logistic"))),
    Key("model.degree", "int", "Degree of the polynomial.", default=2, check=AT_LEAST_ONE,
        when=When("model.type", ("polynomial",))),
    Key("model.hidden", "int_list", "Units per hidden layer of the MLP.", default=(16,), check=AT_LEAST_ONE,
        when=FOR_MLP),
    Key("model.activation", "choice", "Activation of the MLP's hidden layers.", default="tanh",
        choices=ACTIVATIONS, noun="activation", when=FOR_MLP),
    Key("model.standardize", "bool", "Fit on standardized inputs ((input - mean) / standard deviation; for a "
        "polynomial before the powers): a better-conditioned fit, and regularization on the standardized "
        "coefficients. Coefficients, standard errors and their covariance are reported on the original "
        "scale. An MLP always standardizes its inputs.", default=False,
        when=When("model.type", ("linear", "logistic", "polynomial", "mlp"))),
    Key("params", "map", "Parameters: a starting value, or {init, min, max, fixed}. Parameters not "
        "listed start from the model's own guess.", names=IDENTIFIER),
    Key("params.*", "section", "One parameter (a number is short for {init: number}).", shorthand="init"),
    Key("params.*.init", "number", "Starting value. Default: the model's guess."),
    Key("params.*.min", "number", "Lower bound."),
    Key("params.*.max", "number", "Upper bound."),
    Key("params.*.fixed", "bool", "Hold the parameter at its init value.", default=False),
    Key("loss", "section", "What is minimised (a name is short for {name: ...}).", shorthand="name"),
    Key("loss.name", "choice", "Default: cross_entropy for a logistic model, else mse.", choices=LOSS_NAMES,
        noun="loss", default=Derived("model.type", (("logistic", "cross_entropy"),), "mse")),
    Key("loss.delta", "number", "Scale where huber and soft_l1 turn from quadratic to linear.", default=1.0,
        check=POSITIVE, when=When("loss.name", ("huber", "soft_l1"))),
    Key("loss.weights", "str", "Column of per-row weights (>= 0).", check=NON_EMPTY),
    Key("loss.regularization", "section", "Penalty on the parameters' size, added to the loss; offsets "
        "(intercepts, baselines, biases) are not penalized."),
    Key("loss.regularization.l1", "number", "Weight of the sum of |parameter|.", default=0.0,
        check=NON_NEGATIVE),
    Key("loss.regularization.l2", "number", "Weight of the sum of parameter².", default=0.0,
        check=NON_NEGATIVE),
    Key("loss.regularization.standardize", "bool", "Penalize each coefficient of a built-in model times "
        "its input's standard deviation (as if inputs were standardized) while fitting on the original "
        "inputs; model.standardize also fits on standardized inputs. Offsets (intercepts, baselines, "
        "biases) are never penalized.", default=False),
    Key("loss.from_logits", "bool", "The model outputs logits (true) or probabilities (false).",
        default=True, when=When("loss.name", ("cross_entropy",))),
    *_optimizer_keys(),
    Key("validation", "number", "Share of rows held out to measure the fit on unseen data. Default: none.",
        check=Range(0, 0.9)),
    Key("seed", "int", "Seed for every random choice (validation rows, MLP start, batches).", default=0,
        check=NON_NEGATIVE),
    Key("output", "section", "Where results go and which are written."),
    Key("output.dir", "str", "Output folder, relative to the config file (--out overrides it). "
        "Default: reports/<name>/ under the current folder.", check=NON_EMPTY),
    Key("output.formats", "choice_list", "Reports to write.", default=REPORT_FORMATS, choices=REPORT_FORMATS,
        noun="report format"),
    Key("output.plots", "bool", "Draw the plots (PNG).", default=True),
    Key("output.history", "str", "Refit history (SQLite) each fit is appended to and judged against for "
        "drift, relative to the config file (--history overrides it). Default: none.", check=NON_EMPTY),
    Key("output.predictions", "choice", "File format of the predictions: csv, parquet, or auto (Parquet "
        "from 1,000,000 rows, CSV below).", default="auto", choices=PREDICTION_FORMATS,
        noun="predictions format"),
    Key("execution", "section", "Where the sums over the data's rows are computed (large data)."),
    Key("execution.scheduler", "str", "Address of a Dask scheduler (tcp://host:8786): each data file is a "
        "partition whose sums are computed where it lives (--scheduler overrides it). Default: this "
        "machine.", check=NON_EMPTY),
    Key("execution.chunk_rows", "int", "Rows per chunk for sums over the data (memory beyond the data "
        "grows with chunk_rows x parameters). Default: 65536.", check=AT_LEAST_ONE),
    Key("report", "section", "What the report says and in which language."),
    Key("report.language", "choice", "Language of the report (HTML, PDF, xlsx, plots).", default="en",
        choices=REPORT_LANGUAGES, noun="report language"),
    Key("report.appendix", "bool", "Add the technical appendix (gradient checks, optimizer, graph, "
        "trajectories, correlations) after the manager part.", default=True),
    Key("report.describe", "map", "Plain words for parameters, shown in the report's meaning column, "
        "e.g. {b: price elasticity}.", names=NON_EMPTY),
    Key("report.describe.*", "str", "What the parameter means.", check=NON_EMPTY),
    Key("drift", "section", "When a fit recorded in a history counts as drift against the last converged "
        "fit of the same name (exit 5)."),
    Key("drift.threshold", "number", "Largest |change| of a parameter, in units of √(se_previous² + "
        "se_now²), that is not drift.", default=3.0, check=POSITIVE),
    Key("drift.relative_tolerance", "number", "For a parameter without a standard error: largest relative "
        "change |now − previous| / max(|previous|, |now|) that is not drift.", default=0.1, check=POSITIVE),
    Key("drift.metric_tolerance", "number", "Largest relative rise of the RMSE (the log loss for a 0/1 "
        "target) that is not drift: drift when now > (1 + tolerance) × previous.", default=0.5,
        check=POSITIVE),
)

ROOT = Key("", "section", "A workbench fit config.")
BY_PATH: dict[str, Key] = {key.path: key for key in (ROOT, *SCHEMA)}
CHILDREN: dict[str, tuple[Key, ...]] = {
    path: tuple(k for k in SCHEMA if k.parent == path) for path, key in BY_PATH.items()
    if key.kind in ("section", "map")
}


def child_key(parent: Key, name: str) -> Key | None:
    """The row for ``name`` inside ``parent`` (a map's entries all share its ``.*`` row)."""
    if parent.kind == "map":
        return BY_PATH[f"{parent.path}.*"]
    prefix = f"{parent.path}." if parent.path else ""
    return BY_PATH.get(prefix + name) if parent.kind == "section" else None


def child_names(parent: Key) -> list[str]:
    return [k.name for k in CHILDREN.get(parent.path, ())]
