"""The worker side of a fit whose client never holds the table: one ``FilePart`` per file.

A task reads one file of a glob where it runs (``dask_sums.read_partition``) and keeps its rows
there as a ``FilePart`` for the whole fit. The client (``workbench.pipeline.dask_data``) then asks
each part for small things only:

* ``survey``: the file's account of its rows (read, used, dropped by reason), its columns and
  date origins, a few numbers, never the rows;
* ``sample``: the rows at given positions (the client's bounded sample);
* ``ready``: the part made ready to fit, once the model is known: its date columns counted from
  the first file's origin, its held-out rows marked, its fitted rows in row chunks;
* ``map_chunks`` / ``map_validation_chunks``: what ``DaskChunkedObjective`` sums per step;
* ``sums``: per-file sums at the fitted point from which every whole-table metric follows
  (``RowSums``, merged on the client);
* ``write_predictions``: the file's predictions written as one part into the run's staging folder.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from workbench.pipeline.chunks import ChunkedObjective
from workbench.pipeline.objective import FitObjective


@dataclass
class FileSurvey:
    """What the client learns of one file without its rows (the fields ``multi.joined_account`` reads)."""

    n: int
    n_rows_read: int
    n_dropped: int
    dropped: list
    summary: dict
    sha256: str
    all_columns: list
    date_columns: dict
    date_formats: dict
    header_row: int
    warnings: list
    percent_columns: list


@dataclass
class RowSums:
    """Sums over some rows from which the metrics follow exactly (``results.quality_sums``, turned
    into metrics by ``results.metrics_from_sums``, as on one machine), and what else the whole
    table's result needs of every row: Σ w r², the largest |prediction − y| (are the classes of a
    0/1 target separated?), each input's range, and for a 0/1 target each input's range per class
    (which inputs separate them). Two files' sums merge (Chan et al.'s pairwise update for the
    target's spread)."""

    n: int = 0
    mean_y: float = 0.0
    spread_y: float = 0.0                    # Σ (y − mean)²
    squares: float = 0.0                     # Σ r²
    absolute: float = 0.0                    # Σ |r|
    weighted_squares: float = 0.0            # Σ w r² (w = 1 without weights)
    correct: int = 0                         # 0/1 targets: rows on the right side of 0.5
    log_loss: float = 0.0                    # 0/1 targets: −Σ log-likelihood
    largest_miss: float = 0.0                # max |prediction − y| (NaN when any is)
    ranges: dict = field(default_factory=dict)         # input -> [min, max]
    class_ranges: dict = field(default_factory=dict)   # 0/1 targets: input -> [min₀, max₀, min₁, max₁]

    @classmethod
    def of(cls, y: np.ndarray, prediction: np.ndarray, weights, binary: bool, inputs: dict) -> "RowSums":
        from workbench.pipeline.results import quality_sums

        if len(y) == 0:
            return cls()
        sums = cls(**quality_sums(y, prediction, binary),
                   ranges={k: [float(np.min(v)), float(np.max(v))] for k, v in inputs.items()})
        r = prediction - y
        sums.weighted_squares = sums.squares if weights is None else float(np.sum(weights * r * r))
        with np.errstate(all="ignore"):
            sums.largest_miss = float(np.max(np.abs(r)))
        if binary:
            ones = y >= 0.5
            sums.class_ranges = {k: [*_range(v[~ones]), *_range(v[ones])] for k, v in inputs.items()}
        return sums

    def merged(self, other: "RowSums") -> "RowSums":
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean_y - self.mean_y
        ranges = {name: _joined_range(self.ranges.get(name), bounds) for name, bounds in other.ranges.items()}
        by_class = {name: _joined_range(self.class_ranges.get(name), bounds)
                    for name, bounds in other.class_ranges.items()}
        return RowSums(n, self.mean_y + delta * other.n / n,
                       self.spread_y + other.spread_y + delta * delta * self.n * other.n / n,
                       self.squares + other.squares, self.absolute + other.absolute,
                       self.weighted_squares + other.weighted_squares, self.correct + other.correct,
                       self.log_loss + other.log_loss, _largest(self.largest_miss, other.largest_miss),
                       {**self.ranges, **ranges}, {**self.class_ranges, **by_class})

    def metrics(self, binary: bool) -> dict:
        """``results.quality`` of the rows summed."""
        from workbench.pipeline.results import metrics_from_sums

        return metrics_from_sums(self.n, self.spread_y, self.squares, self.absolute, self.correct, self.log_loss,
                                 binary)

    def separated(self) -> bool:
        """Every probability within ``degenerate.SEPARATED_ATOL`` of its 0/1 label, on every row
        summed: the test ``degenerate.judge`` makes on one machine."""
        from workbench.pipeline.degenerate import SEPARATED_ATOL

        return self.n > 0 and self.largest_miss < SEPARATED_ATOL

    def separating_inputs(self, inputs) -> list[str]:
        """The ``inputs`` on which a threshold alone puts every 1 on one side and every 0 on the
        other (``degenerate``'s rule), from each class's range over every row summed."""
        found = []
        for name in inputs:
            low0, high0, low1, high1 = self.class_ranges.get(name, [math.nan] * 4)
            if all(math.isfinite(v) for v in (low0, high0, low1, high1)) and (low1 > high0 or high1 < low0):
                found.append(name)
        return found


def _range(values: np.ndarray) -> tuple[float, float]:
    """[min, max] of ``values`` (NaN when one is not finite); (inf, −inf) when there are none, so
    that a class absent from one file takes its range from the others."""
    if len(values) == 0:
        return math.inf, -math.inf
    if not np.all(np.isfinite(values)):
        return math.nan, math.nan
    return float(np.min(values)), float(np.max(values))


def _joined_range(mine: list | None, theirs: list) -> list:
    """Two ranges ([low, high] or per class [low₀, high₀, low₁, high₁]) as one; NaN stays NaN."""
    if mine is None:
        return list(theirs)
    return [(_smallest if i % 2 == 0 else _largest)(a, b) for i, (a, b) in enumerate(zip(mine, theirs))]


def _largest(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else max(a, b)


def _smallest(a: float, b: float) -> float:
    return math.nan if math.isnan(a) or math.isnan(b) else min(a, b)


class FilePart:
    """One file's rows, held on the worker that read them (see the module docstring)."""

    def __init__(self, dataset, index: int):
        self.index = index
        self.columns = dataset.columns
        self.row_numbers = dataset.row_numbers
        self.n = dataset.n
        self.held_out = None              # bool per row: a validation row
        self.template = None
        self.train = self.validation = None
        self.facts = FileSurvey(dataset.n, dataset.n_rows_read, dataset.n_dropped, list(dataset.dropped),
                                dataset.summary, dataset.sha256, list(dataset.all_columns), dict(dataset.date_columns),
                                dict(getattr(dataset, "date_formats", {}) or {}), dataset.header_row,
                                list(dataset.warnings), list(dataset.percent_columns))

    def survey(self) -> FileSurvey:
        return self.facts

    def sample(self, rows: np.ndarray, held_out: np.ndarray | None) -> dict:
        """The rows at ``rows`` (positions in this file), their row numbers and which are held out."""
        flags = np.zeros(len(rows), dtype=bool) if held_out is None else np.isin(rows, held_out)
        return {"columns": {k: v[rows] for k, v in self.columns.items()}, "row_numbers": self.row_numbers[rows],
                "held_out": flags}

    def ready(self, template, shifts: dict[str, float], held_out: np.ndarray | None) -> "FilePart":
        """This part ready to fit (see the module docstring); the rows are shared, not copied."""
        part = FilePart.__new__(FilePart)
        part.__dict__.update(self.__dict__)
        part.columns = {k: (v + shifts[k] if shifts.get(k) else v) for k, v in self.columns.items()}
        part.held_out = np.zeros(self.n, dtype=bool)
        if held_out is not None:
            part.held_out[held_out] = True
        part.template = template
        part.train = ChunkedObjective(part._objective(~part.held_out, template.ls_scale), template.chunk_rows)
        if part.held_out.any():
            part.validation = ChunkedObjective(part._objective(part.held_out, None), template.chunk_rows)
        return part

    def _objective(self, rows: np.ndarray, ls_scale) -> FitObjective:
        """The fit's objective on ``rows`` (a mask; all rows: the columns themselves, no copy)."""
        t, every = self.template, bool(rows.all())
        pick = (lambda v: v) if every else (lambda v: v[rows])
        weights = None if t.weights is None else pick(self.columns[t.weights])
        part = FitObjective(t.model, t.loss, {c: pick(self.columns[c]) for c in t.model.inputs},
                            pick(self.columns[t.model.target]), weights, t.free, t.fixed)
        if ls_scale is not None:
            part._ls_scale = ls_scale          # the whole fit's residual scale, not this file's
        return part

    def map_chunks(self, function) -> list:
        return self.train.map_chunks(function) if self.train.n_rows else []

    def map_validation_chunks(self, function) -> list:
        return self.validation.map_chunks(function) if self.validation is not None else []

    def predictions(self, x: np.ndarray) -> np.ndarray:
        """The model's predictions (probabilities for a 0/1 model) for every row, a chunk at a time."""
        from workbench.pipeline.results import plain_prediction

        t = self.template
        objective = self.train.base
        view = SimpleNamespace(objective=objective, model=t.model, loss=t.loss)
        return plain_prediction(view, objective.unpack(x), {c: self.columns[c] for c in t.model.inputs})

    def sums(self, x: np.ndarray) -> tuple[RowSums, RowSums]:
        """``RowSums`` of the fitted and of the held-out rows at ``x``."""
        t = self.template
        prediction, y = self.predictions(x), self.columns[t.model.target]
        weights = None if t.weights is None else self.columns[t.weights]
        found = []
        for rows in (~self.held_out, self.held_out):
            every = bool(rows.all())
            pick = (lambda v: v) if every else (lambda v: v[rows])
            inputs = {c: pick(self.columns[c]) for c in t.model.inputs if c in self.columns}
            found.append(RowSums.of(pick(y), pick(prediction), None if weights is None else pick(weights),
                                    t.model.binary, inputs))
        return found[0], found[1]

    def write_predictions(self, x: np.ndarray, folder: Path, file_names: list[str], fmt: str) -> Path:
        """This file's predictions as ``folder/part-NNNNN.csv|parquet``: the columns and encodings
        of the whole-table ``predictions.*`` (``outputs.write_predictions``), written beside and
        renamed into place."""
        from workbench.pipeline.outputs import write_predictions
        from workbench.pipeline.results import Labels

        prediction, y = self.predictions(x), self.columns[self.template.model.target]
        table = {"row": self.row_numbers, "file": Labels(np.full(self.n, self.index, dtype=np.int32), file_names)}
        table.update(self.columns)
        table.update(prediction=prediction, residual=y - prediction,
                     set=Labels(self.held_out.astype(np.int8), ["train", "validation"]))
        folder = Path(folder)
        scratch = folder / f".part-{self.index:05d}.tmp"
        scratch.mkdir(parents=True, exist_ok=True)
        try:
            written = write_predictions(scratch, table, fmt)
            target = folder / f"part-{self.index:05d}{written.suffix}"
            os.replace(written, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target
