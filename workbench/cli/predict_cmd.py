"""``workbench predict RUN_DIR DATA --out FILE``: apply a fitted model to new rows."""

from __future__ import annotations

import click

# The data keys a fit's config would name that predict's own arguments stand for: the new rows
# are the DATA argument and its --sheet, not the config's data.path and data.sheet. (The other
# data.* keys are the fit's reading options, which predict applies to DATA as they were.)
ARGUMENT_FOR_KEY = {"data": "DATA", "data.path": "DATA", "data.sheet": "--sheet"}


@click.command("predict")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("data", required=False, type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Where to write the new rows with their predictions: a .csv or .xlsx file.")
@click.option("--sheet", default=None, help="Excel DATA only: a sheet name or position (default: the first).")
@click.option("--until", default=None, metavar="DATE",
              help="Without DATA: forecast dates up to DATE (for a model whose one input is a date).")
@click.option("--every", default="1d", show_default=True, metavar="STEP",
              help="With --until: the step between dates, e.g. 1d, 7d, 2w, 12h.")
@click.option("--from", "start", default=None, metavar="DATE",
              help="With --until: the first date (default: one step after the last fitted date).")
@click.option("--force", is_flag=True,
              help="Predict even from a fit that did not converge (interrupted, timed out, diverged, stopped "
                   "at max_steps or stalled); the output then has a fit_status column.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def command(run_dir: str, data: str | None, out: str, sheet: str | None, until: str | None, every: str,
            start: str | None, force: bool, quiet: bool) -> None:
    """Apply the model fitted into RUN_DIR (a `workbench fit` output folder) to the rows of DATA
    (CSV, Excel or Parquet, read like the fit's data: same derived columns, date origins and
    renames; a pattern such as 'new/*.csv' predicts every file, with a file column).

    Writes FILE (.csv or .xlsx) with the rows plus prediction, ci_lower, ci_upper (95% interval
    of the mean) and pi_lower, pi_upper (95% interval of a new observation) for least-squares
    fits, or probability and its interval for a 0/1 model, and outside_fitted_range.
    A fit that did not converge is refused (exit 2) unless --force is given.
    Exit status: 0 written, 2 bad input (a missing column, an unreadable file or option, a fit
    that did not converge).
    """
    from pathlib import Path

    from workbench.errors import InputError
    from workbench.pipeline.predict import Predictor, write_prediction

    target = Path(out)
    if target.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError(f"must end in .csv or .xlsx, got {target.name!r}", where="--out")
    if (data is None) == (until is None):
        raise InputError("give either a DATA file or --until DATE, not both" if data else
                         "give a DATA file with the new rows, or --until DATE to forecast dates", where="predict")
    predictor = Predictor.from_run_dir(run_dir)
    if data is not None:
        try:
            prediction = predictor.predict_file(Path(data), sheet, force=force)
        except InputError as err:
            argument = ARGUMENT_FOR_KEY.get(err.where)
            if argument is None:
                raise
            raise InputError(err.detail, where=argument) from None
    else:
        prediction = predictor.forecast_dates(until, every, start, force=force)
    write_prediction(prediction.frame, target)
    for warning in prediction.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not quiet:
        done = int((~prediction.frame[prediction.main].isna()).sum())
        click.echo(f"{done} of {len(prediction.frame)} rows predicted; written to {target}")
