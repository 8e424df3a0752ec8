"""A glob of files on a Dask cluster, fitted without the client ever holding the table.

With a scheduler (``--scheduler`` or ``execution.scheduler``) and a ``data.path`` glob matching
several files, ``ClusterTable`` replaces loading the data on the client:

* one task per file reads it where it runs and keeps its rows there for the whole fit
  (``dask_parts.FilePart``); the client gathers each file's account of its rows (read, used,
  dropped by reason with the first row) and its columns, never the rows;
* a categorical column's levels are every file's, found by a task per file (``levels``);
* the held-out split is ``prepare``'s own (the same seeded permutation of all the table's rows),
  computed by one task: the same rows are held out as on one machine;
* the client gathers one sample of at most ``SAMPLE_ROWS`` evenly spaced rows of the whole table
  (all of them in a smaller table). ``prepare`` builds the model and its starting values from it,
  checks the columns, the target and the starting point on it, and the plots draw it;
* the fit's sums run where the rows live (``DaskChunkedObjective.on_parts``), and so do the
  whole-table numbers of the result (``dask_results``) and the predictions, which each task writes
  as one part into the run's staging folder (``predictions/part-NNNNN.parquet``): workers and
  client must share the file system the output folder is on.

The client's memory is then bounded by the sample, whatever the number of files.
"""

from __future__ import annotations

import dataclasses
import math
import operator
import weakref
from pathlib import Path

import numpy as np

from workbench.pipeline.dask_parts import RowSums

SAMPLE_ROWS = 100_000


def on_cluster(config, options) -> "ClusterTable | None":
    """A ``ClusterTable`` when ``config`` names a scheduler and ``options.path`` is a glob of
    several files; else None (the ordinary paths)."""
    from workbench.data.multi import is_pattern, matching_files

    scheduler = getattr(getattr(config, "execution", None), "scheduler", None)
    if not scheduler or not is_pattern(options.path):
        return None
    files = matching_files(options.path)
    if len(files) < 2:
        return None
    if getattr(config.optimizer, "batch_size", None):
        from workbench.errors import InputError

        raise InputError("minibatches are drawn from rows the client holds, and with a scheduler and several "
                         "files it holds only a sample: leave batch_size unset (every step then uses every row)",
                         where="optimizer.batch_size")
    return ClusterTable(scheduler, options, files)


def gather_in_order(client, futures: list) -> list:
    """The futures' results; the first failure in the files' order is raised (as on one machine,
    where the first bad file stops the read), whichever task failed first."""
    for future in futures:
        error = future.exception()          # waits for this task
        if error is not None:
            raise error
    return client.gather(futures)


class ClusterTable:
    """The table's files held on the cluster's workers (see the module docstring)."""

    def __init__(self, scheduler: str, options, files: list[Path]):
        from workbench.pipeline.dask_sums import connect

        self.scheduler, self.options, self.files = scheduler, options, list(files)
        self.client = connect(scheduler)
        self._finalizer = weakref.finalize(self, self.client.close)
        self.raw = self.parts = self.held_out = self.held_counts = None
        self.views: dict[str, object] = {}
        self.closed = False

    # ---- reading ------------------------------------------------------------------------------
    def levels(self, columns, most: int, hint: str = "") -> dict[str, list[str]]:
        """The categorical ``columns``' levels over every file: each file's distinct labels found
        by a task where it is (at most ``most + 1`` of each travel), merged in the files' order."""
        from workbench.data.multi import file_level_labels, file_options, merged_levels

        per_file = gather_in_order(self.client, [self.client.submit(file_level_labels, file_options(self.options, path),
                                                                    list(columns), most, pure=False)
                                                 for path in self.files])
        return merged_levels(self.options.path, per_file, columns, most, hint)

    def table_columns(self) -> list[str]:
        """The first file's columns, read by a task."""
        from workbench.data import read_columns
        from workbench.data.multi import file_options

        return self.client.submit(read_columns, file_options(self.options, self.files[0])).result()

    def load(self, needed: list[str], share: float | None, seed: int):
        """Read every file on the workers; returns the sample as a ``Dataset`` (with the whole
        table's account of rows) and the sample's fitted and held-out positions."""
        from workbench.data.multi import file_options
        from workbench.pipeline.dask_sums import Partition, read_partition

        self.raw = [self.client.submit(read_partition, None, Partition(file_options(self.options, path), None,
                                                                       tuple(needed), i), pure=False)
                    for i, path in enumerate(self.files)]
        self.surveys = gather_in_order(self.client, [self.client.submit(_survey, part) for part in self.raw])
        self._check_same_columns()
        self.counts = np.array([s.n for s in self.surveys], dtype=np.int64)
        self.n = int(self.counts.sum())
        first = self.surveys[0]
        from workbench.data.multi import origin_shift

        self.shifts = [{name: origin_shift(s.date_columns.get(name), first.date_columns.get(name))
                        for name in s.date_columns} for s in self.surveys]
        if share:
            split = self.client.submit(_held_out_per_file, self.n, share, seed, self.counts.tolist(), pure=False)
            self.held_out = [self.client.submit(operator.getitem, split, i) for i in range(len(self.files))]
        else:
            self.held_out = [None] * len(self.files)
        return self._sample(needed)

    def _check_same_columns(self) -> None:
        from workbench.errors import InputError

        first = self.surveys[0]
        for path, survey in zip(self.files, self.surveys):
            if survey.all_columns != first.all_columns:
                raise InputError(f"{path.name} has the columns {', '.join(survey.all_columns)} but "
                                 f"{self.files[0].name} has {', '.join(first.all_columns)}: every file of "
                                 f"{self.options.path.name} needs the same columns", where="data.path")

    def _sample(self, needed: list[str]):
        from workbench.data.dataset import Dataset
        from workbench.data.multi import joined_account
        from workbench.pipeline.check_rows import evenly_spaced

        picked = evenly_spaced(self.n, SAMPLE_ROWS)
        starts = np.concatenate([[0], np.cumsum(self.counts)])
        owner = np.searchsorted(starts, picked, side="right") - 1
        futures = [self.client.submit(_sample_rows, part, picked[owner == i] - starts[i], held)
                   for i, (part, held) in enumerate(zip(self.raw, self.held_out))]
        samples = gather_in_order(self.client, futures)
        first = self.surveys[0]
        columns = {name: np.concatenate([s["columns"][name] + shift.get(name, 0.0)
                                         for s, shift in zip(samples, self.shifts)])
                   for name in samples[0]["columns"]}
        held = np.concatenate([s["held_out"] for s in samples])
        self.sampled_rows = len(held)
        sample = Dataset(columns=columns, row_numbers=np.concatenate([s["row_numbers"] for s in samples]),
                         date_columns=dict(first.date_columns), path=self.options.path, sheet=None,
                         all_columns=list(first.all_columns), header_row=first.header_row, files=tuple(self.files),
                         file_of_row=owner.astype(np.int32), **joined_account(self.files, self.surveys))
        return sample, np.flatnonzero(~held), np.flatnonzero(held)

    def held_out_rows(self) -> int:
        """How many rows of the whole table are held out for validation (counted where they are)."""
        if self.held_counts is None:
            self.held_counts = np.zeros(len(self.files), dtype=np.int64)
            if self.held_out[0] is not None:
                self.held_counts = np.array(gather_in_order(self.client, [self.client.submit(len, h)
                                                                          for h in self.held_out]))
        return int(self.held_counts.sum())

    # ---- fitting --------------------------------------------------------------------------------
    def start(self, prepared) -> None:
        """Make every part ready to fit ``prepared``'s model (once)."""
        from workbench.pipeline.chunks import DEFAULT_CHUNK_ROWS
        from workbench.pipeline.dask_sums import Template

        if self.parts is not None:
            return
        self.n_fitted = self.n - self.held_out_rows()
        chunk_rows = getattr(getattr(prepared.config, "execution", None), "chunk_rows", None) or DEFAULT_CHUNK_ROWS
        loss = prepared.loss
        template = dataclasses.replace(Template.of(prepared.objective, chunk_rows, prepared.config.loss.weights),
                                       ls_scale=math.sqrt(2.0 * loss.scale(self.n_fitted)) if loss.is_least_squares
                                       else None)
        self.chunk_rows = chunk_rows
        self.parts = [self.client.submit(_ready, raw, template, shifts, held, pure=False)
                      for raw, shifts, held in zip(self.raw, self.shifts, self.held_out)]
        gather_in_order(self.client, [self.client.submit(_nothing, part) for part in self.parts])
        self.raw = None            # the ready parts share the rows the raw ones read

    def objective(self, prepared, validation: bool = False):
        """The optimizer's view: sums over every file's fitted (or, ``validation``, held-out) rows."""
        from workbench.pipeline.dask_sums import DaskChunkedObjective

        self.start(prepared)
        key = "validation" if validation else "fit"
        if key not in self.views:
            rows = self.held_out_rows() if validation else self.n_fitted
            self.views[key] = DaskChunkedObjective.on_parts(prepared.objective, self.chunk_rows, self.client,
                                                            self.parts, rows, validation)
        return self.views[key]

    def validation_loss(self, prepared, x: np.ndarray) -> float:
        """The loss on the held-out rows at ``x`` (with the penalty, as ``FitObjective.loss_value``)."""
        return self.objective(prepared, validation=True).loss_value(x)

    def sums(self, prepared, x: np.ndarray) -> tuple[RowSums, RowSums]:
        """``RowSums`` of the fitted and the held-out rows of the whole table at ``x``."""
        self.start(prepared)
        fitted, held = RowSums(), RowSums()
        for part_fitted, part_held in gather_in_order(self.client, [self.client.submit(_sums, part, x)
                                                                    for part in self.parts]):
            fitted, held = fitted.merged(part_fitted), held.merged(part_held)
        return fitted, held

    def write_predictions(self, folder: Path, x: np.ndarray, choice: str) -> list[Path]:
        """Each file's predictions written by its task as ``folder/predictions/part-NNNNN.*``."""
        from workbench.pipeline.outputs import PREDICTION_PARTS, predictions_format

        target, names = Path(folder) / PREDICTION_PARTS, [path.name for path in self.files]
        fmt = predictions_format(self.n, choice)
        return gather_in_order(self.client, [self.client.submit(_write, part, x, target, names, fmt, pure=False)
                                             for part in self.parts])

    def describe(self) -> dict:
        """How the fit ran, for result.json's ``execution``: where the rows were, what the client's
        sample was used for, and whether the start values came from every row."""
        from workbench.pipeline.outputs import PREDICTION_PARTS

        if self.sampled_rows < self.n:
            start = (f"computed from the client's sample of {self.sampled_rows:,} of the {self.n:,} rows, so the "
                     f"steps (not the optimum, to rounding) can differ from a fit of the same data on one machine")
        else:
            start = "computed from every row, as on one machine"
        return {"scheduler": self.scheduler, "files": len(self.files), "rows": self.n,
                "sampled_rows": self.sampled_rows, "predictions": PREDICTION_PARTS,
                "sample": "start values, start-point and data checks, the flatness judgement, the gradient check, "
                          "plots and report tables",
                "start_values": start}

    def close(self) -> None:
        """Release the rows held on the workers and the connection (once)."""
        if self.closed:
            return
        self.closed = True
        try:
            for future_list in (self.parts, self.raw, self.held_out):
                if future_list:
                    self.client.cancel([f for f in future_list if f is not None])
        finally:
            self._finalizer()


# ---- the tasks (module-level functions: Dask ships them by reference) ----------------------------
def _survey(part):
    return part.survey()


def _sample_rows(part, rows, held_out):
    return part.sample(rows, held_out)


def _held_out_per_file(n: int, share: float, seed: int, counts: list[int]) -> list[np.ndarray]:
    """``prepare``'s split of all ``n`` rows, as each file's held-out positions."""
    from workbench.pipeline.prepare import split_rows

    _, held = split_rows(n, share, seed)
    starts = np.concatenate([[0], np.cumsum(counts)])
    bounds = np.searchsorted(held, starts)
    return [held[bounds[i]:bounds[i + 1]] - starts[i] for i in range(len(counts))]


def _ready(part, template, shifts, held_out):
    return part.ready(template, shifts, held_out)


def _nothing(part) -> None:
    return None


def _sums(part, x):
    return part.sums(x)


def _write(part, x, folder, names, fmt):
    return part.write_predictions(x, folder, names, fmt)
