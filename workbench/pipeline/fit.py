"""The fit job: prepare, optimize, estimate uncertainties, write every output.

``run_fit(config, out_dir)`` is what ``workbench fit`` and every sweep member run. It returns a
``FitOutcome`` holding everything the reports need. Its promises:

* bad input is found by ``prepare`` before anything is written (exit 2);
* a loss that becomes NaN or infinite stops the optimizer; the last finite parameters are
  written like any result and then ``DivergedError`` is raised (exit 3), naming the step;
* a fit that did not converge writes its results and says so; with ``strict`` it then raises
  ``NotConvergedError`` (exit 4);
* the outputs are written as a whole set: into a fresh folder beside ``out_dir``, swapped in
  when complete (``workbench.pipeline.outputs``), and only over a folder that holds a previous
  fit's outputs (else exit 2 before anything runs);
* Ctrl-C or SIGTERM (``interruptible``) stops the optimizer at the end of its step: the last
  parameters are written with the status "interrupted" and ``InterruptedRun`` is raised (exit
  130); a time limit does the same with the status "timeout" and exit 4; a memory limit that is
  exceeded is exit 2 naming ``max_memory``, with the previous outputs unchanged;
* with a ``history`` (``workbench.history``), a corrupt history is exit 2 before the fit runs; the
  fit is compared with the history (``drift`` in result.json), appended to it after its outputs
  are written, and then ``DriftError`` (exit 5, ``err.outcome`` set) is raised if it drifted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.errors import DivergedError, InputError, InterruptedRun, NotConvergedError
from workbench.pipeline.limits import (GRACE_S, RunLimits, StopFlag, TimeLimitReached, catch_signals, memory_limit,
                                       time_limit)
from workbench.pipeline.prepare import Prepared, prepare
from workbench.pipeline.results import assemble_result


@dataclass
class FitOutcome:
    prepared: Prepared
    optimize_result: object
    x: np.ndarray
    result: dict                       # the content of result.json
    params_table: list[dict]           # one row per scalar parameter (params.csv)
    predictions: dict                  # column -> array (predictions.csv)
    history: list[dict]
    uncertainty: object
    out_dir: Path                      # where files are written now (a staging folder while writing)
    elapsed_s: float
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trajectory: list[tuple[int, np.ndarray]] = field(default_factory=list)   # (step, x), small models
    gradcheck: object | None = None    # the compact gradient check at start and solution (reports)
    destination: Path | None = None    # where the outputs end up (what a report names); None: out_dir

    def __post_init__(self) -> None:
        if self.destination is None:
            self.destination = self.out_dir

    @property
    def converged(self) -> bool:
        return bool(self.result["converged"])


def optimizer_options(prepared: Prepared):
    """The optimizer's options from the config (names match the YAML keys)."""
    from dataclasses import fields

    from workbench.optim import Options

    cfg = prepared.config.optimizer
    given = {f.name: getattr(cfg, f.name) for f in fields(Options) if getattr(cfg, f.name, None) is not None}
    given["name"] = prepared.optimizer_name
    given["seed"] = prepared.config.seed
    return Options(**given)


MAX_TRAJECTORY_PARAMS = 12     # parameter trajectories are kept (and drawn) for small models only


class _Monitor:
    """Per-step callback: validation loss, progress bar, parameter trajectory, early stop on request."""

    def __init__(self, prepared: Prepared, max_steps: int, show_progress: bool, stop: StopFlag | None = None):
        self.prepared = prepared
        self.stop = stop if stop is not None else StopFlag()
        self.last: tuple[int, np.ndarray, float] | None = None     # the last step seen: (step, x, loss)
        from workbench.optim.history import ThinnedLog

        self.trajectory: ThinnedLog[tuple[int, np.ndarray]] = ThinnedLog()   # bounded however long the run
        self.keep_x = prepared.objective.n_params <= MAX_TRAJECTORY_PARAMS
        self.val = None
        if len(prepared.val_rows):
            rows = prepared.val_rows
            weights = None
            if prepared.config.loss.weights:
                weights = prepared.dataset.columns[prepared.config.loss.weights][rows]
            self.val = (prepared.columns(rows), prepared.target(rows), weights)
        self.held_out_loss = None
        if prepared.cluster is not None and prepared.config.validation:   # held-out rows on the workers
            self.val, self.held_out_loss = None, prepared.cluster.validation_loss
        self.bar = None
        if show_progress:
            from tqdm import tqdm

            # Sized explicitly: a terminal that reports 0 x 0 (some ptys) would otherwise hide the bar.
            columns, lines = shutil.get_terminal_size()
            self.bar = tqdm(total=max_steps, desc="fitting", unit="step", delay=0.5, leave=False,
                            file=sys.stderr, ncols=columns, nrows=lines)

    def __call__(self, step: int, x: np.ndarray, loss: float):
        if np.isfinite(loss):
            self.last = (step, np.array(x, dtype=float), float(loss))
        if self.stop:
            return True       # a signal or the time limit: the optimizer returns this point
        if self.keep_x:
            self.trajectory.append(step, (step, np.array(x, dtype=float)))
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        if self.held_out_loss is not None:
            return self.held_out_loss(self.prepared, x)
        if self.val is None:
            return None
        return self.prepared.objective.loss_value(x, *self.val)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_fit(config, out_dir: Path | str, *, quiet: bool = True, reports: bool = True,
            strict: bool = False, progress: bool = False, staged: bool = True, interruptible: bool = False,
            limits: RunLimits | None = None, history: Path | str | None = None) -> FitOutcome:
    """Fit ``config`` and write its outputs to ``out_dir``; see the module docstring.

    ``staged``: write the whole set beside ``out_dir`` and swap it in when complete (a caller
    that already writes into a private folder, like a sweep worker, passes False).
    ``interruptible``: SIGINT and SIGTERM stop the fit at the end of its step (the command line).
    ``limits``: a time limit (the fit stops, keeping its last point) and a memory limit.
    ``history``: the refit history to judge drift against and append to."""
    from workbench.pipeline.outputs import check_fit_folder

    started = time.perf_counter()
    limits = limits or RunLimits()
    if staged:
        check_fit_folder(Path(out_dir))
    recorder = _history_recorder(config, history)
    prepared = prepare(config)
    stop = StopFlag()
    try:
        with (catch_signals(stop) if interruptible else contextlib.nullcontext()), \
                time_limit(limits.timeout, stop), memory_limit(limits.max_memory):
            try:
                outcome = _fit_and_write(prepared, Path(out_dir), stop, started, quiet=quiet, reports=reports,
                                         progress=progress, staged=staged, recorder=recorder)
            finally:
                close_fit_objective(prepared)
    except MemoryError:
        if limits.max_memory is None:
            raise
        raise InputError(f"the fit needs more memory than {limits.describe_memory()} allows; raise the limit or "
                         f"use a smaller model or less data", where="max_memory") from None
    except TimeLimitReached:
        if limits.timeout is None:
            raise                   # a time limit set around this fit (a sweep's): its owner reports it
        raise NotConvergedError(f"the fit did not stop within {GRACE_S:g} s of its time limit "
                                f"({limits.describe_timeout()}); the previous outputs in {out_dir} are unchanged")
    outcome.elapsed_s = time.perf_counter() - started
    _raise_for_status(outcome, strict, limits)
    if recorder is not None:
        recorder.raise_for_drift(outcome.result, outcome)
    return outcome


def _history_recorder(config, history: Path | str | None):
    if history is None:
        return None
    from workbench.history import DriftSettings, FitRecorder

    drift = config.drift
    return FitRecorder(history, DriftSettings(threshold=drift.threshold, metric_tolerance=drift.metric_tolerance,
                                              relative_tolerance=drift.relative_tolerance))


def _fit_and_write(prepared: Prepared, out_dir: Path, stop: StopFlag, started: float, *, quiet: bool,
                   reports: bool, progress: bool, staged: bool, recorder=None) -> FitOutcome:
    from workbench.optim import minimize
    from workbench.pipeline.outputs import write_outputs

    options = optimizer_options(prepared)
    prepared.notes += [f"optimizer.{key} is set but {options.name} does not use it"
                       for key in options.unused() if key != "seed"]
    monitor = _Monitor(prepared, options.max_steps, progress and not quiet, stop)
    # Overflow on the way to a divergence is expected and handled (the optimizer stops at the
    # first non-finite loss and keeps the last finite point), so numpy need not warn about it.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            names = [p.name if p.size == 1 else f"{p.name}[{i}]" for p in prepared.free for i in range(p.size)]
            opt = _closed_form(prepared) or minimize(fit_objective(prepared), prepared.x0, options,
                                                     lower=prepared.lower, upper=prepared.upper,
                                                     callback=monitor, names=names)
        except KeyboardInterrupt:
            # A second signal: keep the last step seen.
            stop.reason = stop.reason or "interrupted"
            opt = _stopped_result(prepared, monitor.last)
        except TimeLimitReached:
            # A step that outlived the time limit (this fit's, or a sweep's around it): keep the last step seen.
            stop.reason = "timeout"
            opt = _stopped_result(prepared, monitor.last)
        finally:
            monitor.close()
        if stop:
            opt = _as_stopped(opt, stop)
        if prepared.cluster is not None:      # rows on the workers: the whole table's numbers come from there
            from workbench.pipeline.dask_results import assemble_on_cluster

            outcome = assemble_on_cluster(prepared, opt, out_dir, started)
        else:
            outcome = assemble_result(prepared, opt, out_dir, started)
        outcome.trajectory = monitor.trajectory.items()
        if recorder is not None:
            recorder.annotate(outcome.result)
        write_outputs(outcome, reports=reports and not stop, staged=staged)
        if recorder is not None:
            recorder.record(outcome.result)
    return outcome


def fit_objective(prepared: Prepared):
    """The objective the optimizer works on: summed over row chunks when the data is large
    (``execution.chunk_rows``; ``workbench.pipeline.chunks``), on a Dask cluster when one is set.
    Built once per fit (the fit and its uncertainties share it; ``close_fit_objective`` ends it)."""
    from workbench.pipeline.chunks import optimizer_objective

    if prepared.optimizer_view is None and prepared.cluster is not None:
        prepared.optimizer_view = prepared.cluster.objective(prepared)     # the files' rows stay on the workers
    if prepared.optimizer_view is None:
        execution = getattr(prepared.config, "execution", None)
        scheduler = getattr(execution, "scheduler", None)
        partitions = None
        if scheduler and prepared.dataset.files:       # a glob of files: each task reads its own
            from workbench.pipeline.dask_sums import file_partitions
            from workbench.pipeline.prepare import model_data

            partitions = file_partitions(prepared.dataset, model_data(prepared.config, prepared.levels)[0],
                                         prepared.train_rows)
        prepared.optimizer_view = optimizer_objective(prepared.objective, getattr(execution, "chunk_rows", None),
                                                      scheduler, partitions, prepared.config.loss.weights)
    return prepared.optimizer_view


def close_fit_objective(prepared: Prepared) -> None:
    """Release what the fit's objective holds (a Dask client and the chunks on its workers)."""
    view, prepared.optimizer_view = prepared.optimizer_view, None
    close = getattr(view, "close", None)
    if close is not None:
        close()
    if prepared.cluster is not None:
        prepared.cluster.close()


def _closed_form(prepared: Prepared):
    """The closed-form solution of a model linear in its parameters (``linear_solve``), or None:
    then the optimizer runs, and the notes say why when the closed form was tried."""
    from workbench.pipeline.linear_solve import closed_form_applies, solve_linear

    if not closed_form_applies(prepared):
        return None
    solution, note = solve_linear(prepared, fit_objective(prepared))
    if note:
        prepared.notes.append(note)
    return solution


def _stopped_result(prepared: Prepared, last: tuple[int, np.ndarray, float] | None):
    from workbench.optim.base import OptimizeResult

    step, x, loss = last if last is not None else (0, np.asarray(prepared.x0, dtype=float), float("nan"))
    return OptimizeResult(x=x, fun=loss, success=False, status="", message="", nit=step, nfev=0, njev=0)


def _as_stopped(opt, stop: StopFlag):
    """The optimizer's result relabelled: why it stopped is the signal or the time limit."""
    from workbench.optim.base import steps

    if stop.reason == "timeout":
        message = f"stopped at the time limit after {steps(opt.nit)}"
    else:
        message = f"interrupted by {stop.signal_name or 'SIGINT'} after {steps(opt.nit)}"
    return dataclasses.replace(opt, success=False, status=stop.reason, message=message)


def _raise_for_status(outcome: FitOutcome, strict: bool, limits: RunLimits) -> None:
    result, where = outcome.result, outcome.out_dir / "result.json"
    if result["status"] == "interrupted":
        raise InterruptedRun(f"the fit was {result['message']}; its last parameters are in {where} "
                             f"(status \"interrupted\", no reports)")
    if result["status"] == "timeout":
        limit = f" ({limits.describe_timeout()})" if limits.timeout is not None else ""
        raise NotConvergedError(f"the fit {result['message']}{limit}; its last "
                                f"parameters are in {where} (status \"timeout\", no reports)")
    if result["status"] == "diverged":
        opt = outcome.optimize_result
        raise DivergedError(f"the fit diverged at step {opt.diverged_at}: {opt.message}; the last good "
                            f"parameters are in {where}")
    if strict and not outcome.converged:
        raise NotConvergedError(f"the fit did not converge ({result['message']}) and --strict is set")


def resolve_out_dir(config, out: Path | str | None) -> Path:
    """``--out`` wins; then ``output.dir`` (relative to the config file); then reports/<name>/."""
    if out is not None:
        return Path(out)
    if config.output.dir is not None:
        return Path(config.output.dir)
    return Path("reports") / config.name
