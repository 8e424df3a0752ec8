"""The fit job: prepare, optimize, estimate uncertainties, write every output.

``run_fit(config, out_dir)`` is what ``workbench fit`` and every sweep member run. It returns a
``FitOutcome`` holding everything the reports need. Its promises:

* bad input is found by ``prepare`` before anything is written (exit 2);
* a loss that becomes NaN or infinite stops the optimizer; the last finite parameters are
  written like any result and then ``DivergedError`` is raised (exit 3), naming the step;
* a fit that did not converge writes its results and says so; with ``strict`` it then raises
  ``NotConvergedError`` (exit 4);
* every file is written atomically.
"""

from __future__ import annotations

import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.errors import DivergedError, NotConvergedError
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
    out_dir: Path
    elapsed_s: float
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    trajectory: list[tuple[int, np.ndarray]] = field(default_factory=list)   # (step, x), small models
    gradcheck: object | None = None    # the compact gradient check at start and solution (reports)

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

    def __init__(self, prepared: Prepared, max_steps: int, show_progress: bool):
        self.prepared = prepared
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
        self.bar = None
        if show_progress:
            from tqdm import tqdm

            # Sized explicitly: a terminal that reports 0 x 0 (some ptys) would otherwise hide the bar.
            columns, lines = shutil.get_terminal_size()
            self.bar = tqdm(total=max_steps, desc="fitting", unit="step", delay=0.5, leave=False,
                            file=sys.stderr, ncols=columns, nrows=lines)

    def __call__(self, step: int, x: np.ndarray, loss: float):
        if self.keep_x:
            self.trajectory.append(step, (step, np.array(x, dtype=float)))
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
        if self.val is None:
            return None
        return self.prepared.objective.loss_value(x, *self.val)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_fit(config, out_dir: Path | str, *, quiet: bool = True, reports: bool = True,
            strict: bool = False, progress: bool = False) -> FitOutcome:
    """Fit ``config`` and write its outputs to ``out_dir``; see the module docstring."""
    from workbench.optim import minimize
    from workbench.pipeline.outputs import write_outputs

    started = time.perf_counter()
    prepared = prepare(config)
    options = optimizer_options(prepared)
    prepared.notes += [f"optimizer.{key} is set but {options.name} does not use it"
                       for key in options.unused() if key != "seed"]
    monitor = _Monitor(prepared, options.max_steps, progress and not quiet)
    # Overflow on the way to a divergence is expected and handled (the optimizer stops at the
    # first non-finite loss and keeps the last finite point), so numpy need not warn about it.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            names = [p.name if p.size == 1 else f"{p.name}[{i}]" for p in prepared.free for i in range(p.size)]
            opt = minimize(prepared.objective, prepared.x0, options, lower=prepared.lower,
                           upper=prepared.upper, callback=monitor, names=names)
        finally:
            monitor.close()
        outcome = assemble_result(prepared, opt, Path(out_dir), started)
        outcome.trajectory = monitor.trajectory.items()
        write_outputs(outcome, reports=reports)
    outcome.elapsed_s = time.perf_counter() - started
    if opt.status == "diverged":
        raise DivergedError(f"the fit diverged at step {opt.diverged_at}: {opt.message}; the last good "
                            f"parameters are in {outcome.out_dir / 'result.json'}")
    if strict and not outcome.converged:
        raise NotConvergedError(f"the fit did not converge ({outcome.result['message']}) and --strict is set")
    return outcome


def resolve_out_dir(config, out: Path | str | None) -> Path:
    """``--out`` wins; then ``output.dir`` (relative to the config file); then reports/<name>/."""
    if out is not None:
        return Path(out)
    if config.output.dir is not None:
        return Path(config.output.dir)
    return Path("reports") / config.name
