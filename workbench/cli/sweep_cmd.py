"""``workbench sweep SWEEP.yaml``: run a batch of fits in parallel, resumably."""

from __future__ import annotations

import click

from workbench.cli.options import quiet_option


@click.command("sweep")
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(dir_okay=False))
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: the number of CPUs).")
@click.option("--scheduler", metavar="ADDRESS", default=None,
              help="Run on an existing Dask cluster, e.g. tcp://host:8786 (needs workbench[cluster]).")
@click.option("--resume/--restart", default=True,
              help="Resume: run only what is not done (default). Restart: forget every stored run first.")
@click.option("--dry-run", is_flag=True, help="List the runs (key, status, overrides) and run nothing.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: output: of the sweep file, else reports/sweeps/<name>/).")
@quiet_option
@click.option("--history", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Refit history (SQLite) to append the best run to, as `workbench fit --history` does.")
@click.option("--runner", default=None, hidden=True,
              help="module:function run for each member instead of the fit (tests and benchmarks).")
def command(sweep_file: str, workers: int | None, scheduler: str | None, resume: bool, dry_run: bool,
            out: str | None, quiet: bool, history: str | None, runner: str | None) -> int:
    """Run every fit described by SWEEP.yaml: a grid or random search over config keys, or a
    folder of configs.

    Results go to the output folder: runs.sqlite (the run store), runs/<key>/ (each run's
    files), leaderboard.csv, best.yaml, sweep.html and summary.json. Rerunning the same command
    runs only what is not done. Exit status: 0 all runs done, 1 some failed, 2 bad sweep file,
    option or output folder, 74 the machine failed the sweep (disk full, store unwritable), 75 the
    sweep is already running, 130 interrupted.
    """
    from pathlib import Path

    from workbench.sweep.orchestrator import run_sweep
    from workbench.sweep.plan import dry_run_lines, plan_sweep

    plan = plan_sweep(sweep_file, out)
    if history is not None and not dry_run:
        from workbench.history.store import ensure_writable

        ensure_writable(Path(history))      # corrupt or foreign: exit 2; unwritable: 74; before any run
    if dry_run:
        for line in dry_run_lines(plan):
            click.echo(line)
        return 0
    warn = (lambda text: None) if quiet else (lambda text: click.echo(text, err=True))
    from workbench.pipeline.limits import low_memory_warning

    low_memory = low_memory_warning(plan.spec.limits)
    if low_memory:
        warn(f"warning: {plan.spec.path.name}: {low_memory}")
    report = run_sweep(plan, workers=workers, scheduler=scheduler, restart=not resume, quiet=quiet,
                       runner=runner, warn=warn)
    if not quiet:
        _print_report(plan, report)
    if history is not None:
        from workbench.cli.history_cmd import record_sweep_best

        recorded = record_sweep_best(history, plan.spec.name, report)
        if recorded and not quiet:
            click.echo(f"  {recorded}")
    return report.exit_status


def _print_report(plan, report) -> None:
    from workbench.sweep.leaderboard import metric_value
    from workbench.sweep.members import describe_overrides

    counts = report.counts
    click.echo(f"{plan.spec.name}: {sum(counts.values())} runs, {counts['done']} done, {counts['failed']} failed"
               f" ({report.ran} ran now)")
    if report.best is not None:
        value = metric_value(report.best.metrics, report.metric)
        click.echo(f"  best {report.best.key}: {report.metric} {value:.6g}  {describe_overrides(report.best.overrides)}")
    for note in report.notes:
        click.echo(f"  note: {note}")
    click.echo(f"  report {report.out_dir / 'sweep.html'}")
