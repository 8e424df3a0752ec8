"""``workbench fit CONFIG``: fit a model and write results, plots and reports."""

from __future__ import annotations

import sys

import click

from workbench.cli.options import config_argument, out_option, quiet_option, set_option


@click.command("fit")
@config_argument
@out_option
@set_option
@quiet_option
@click.option("--strict", is_flag=True, help="Exit with status 4 when the fit does not converge.")
@click.option("--no-reports", is_flag=True, help="Write results and plots only (no HTML/PDF/XLSX).")
def command(config: str, out: str | None, overrides: tuple[str, ...], quiet: bool, strict: bool,
            no_reports: bool) -> None:
    """Fit the model described by CONFIG (a YAML file) to its data.

    Writes result.json, params.csv, predictions.csv, history.csv, plots and reports to the
    output folder. Exit status: 0 fitted, 2 bad input, 3 diverged, 4 not converged (--strict).
    """
    from workbench.cli.summary import print_summary
    from workbench.config import load_config
    from workbench.pipeline.fit import resolve_out_dir, run_fit

    cfg = load_config(config, overrides)
    out_dir = resolve_out_dir(cfg, out)
    outcome = run_fit(cfg, out_dir, quiet=quiet, reports=not no_reports, strict=strict,
                      progress=sys.stderr.isatty())
    if not quiet:
        print_summary(outcome)
