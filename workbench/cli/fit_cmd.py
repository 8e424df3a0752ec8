"""``workbench fit CONFIG``: fit a model and write results, plots and reports."""

from __future__ import annotations

import sys

import click

from workbench.cli.options import (config_argument, out_option, quiet_option, scheduler_option, set_option,
                                   with_scheduler)


@click.command("fit")
@config_argument
@out_option
@set_option
@quiet_option
@click.option("--strict", is_flag=True, help="Exit with status 4 when the fit does not converge.")
@click.option("--no-reports", is_flag=True, help="Write results and plots only (no HTML/PDF/XLSX).")
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Stop the fit after this long, keeping its last point (status timeout, exit 4).")
@click.option("--max-memory", default=None, metavar="SIZE",
              help="Memory the fit may allocate, e.g. 2GB; beyond it the fit stops (exit 2).")
@click.option("--history", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Refit history (SQLite) to append the fit to and judge drift against (exit 5); "
                   "default: output.history of the config.")
@scheduler_option
def command(config: str, out: str | None, overrides: tuple[str, ...], quiet: bool, strict: bool,
            no_reports: bool, timeout: float | None, max_memory: str | None, history: str | None,
            scheduler: str | None) -> None:
    """Fit the model described by CONFIG (a YAML file) to its data.

    Writes result.json, params.csv, predictions.csv, history.csv, plots and reports to the
    output folder, as one set that replaces the previous fit's only when complete. Ctrl-C or
    SIGTERM stops the fit and writes its last point with the status "interrupted" (exit 130).
    Exit status: 0 fitted, 1 the fit's own gradient check failed, 2 bad input, 3 diverged,
    4 not converged (--strict) or timed out, 5 drifted against the history (--history), 74 the
    outputs or the history cannot be written (disk full, unwritable location); with 1 and 5
    every output is written first.
    """
    from workbench.cli.summary import gradient_check_failure, print_summary
    from workbench.config import load_config
    from workbench.errors import DriftError, WorkbenchError
    from workbench.history import summary_lines
    from workbench.pipeline.fit import resolve_out_dir, run_fit
    from workbench.pipeline.limits import RunLimits, low_memory_warning, parse_bytes, parse_seconds

    limits = RunLimits(None if timeout is None else parse_seconds(timeout, "--timeout"),
                       None if max_memory is None else parse_bytes(max_memory, "--max-memory"))
    low_memory = low_memory_warning(limits)
    if low_memory and not quiet:
        click.echo(f"warning: {low_memory}", err=True)
    cfg = load_config(config, with_scheduler(overrides, scheduler))
    out_dir = resolve_out_dir(cfg, out)
    drifted = None
    try:
        outcome = run_fit(cfg, out_dir, quiet=quiet, reports=not no_reports, strict=strict,
                          progress=sys.stderr.isatty(), interruptible=True, limits=limits,
                          history=history if history is not None else cfg.output.history)
    except DriftError as err:
        outcome, drifted = err.outcome, err
    if not quiet:
        print_summary(outcome)
        for line in summary_lines(outcome.result):
            click.echo(f"  {line}")
    failure = gradient_check_failure(outcome, config)
    if failure is not None:       # exit 1 before drift's 5: drift judged on wrong derivatives means little
        raise WorkbenchError(failure + (f"; also {drifted}" if drifted is not None else ""))
    if drifted is not None:
        raise drifted
