"""``workbench history PATH``: the fits recorded in a refit history, one row each.

    workbench history nightly.sqlite                      (a table)
    workbench history nightly.sqlite --format csv --name decay
    workbench history nightly.sqlite --html history.html  (each parameter over time, ± 2 se)

The file is only read: a corrupt or foreign one is exit 2 naming it, and stays as it was.
"""

from __future__ import annotations

import click

FORMATS = ("table", "csv", "json")


@click.command("history")
@click.argument("path", metavar="PATH", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="How to print the fits (default: table; with --html, nothing unless asked).")
@click.option("--name", default=None, help="Only the fits of the config with this name.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Also write a self-contained page with each parameter's trajectory and its ± 2 se band.")
def command(path: str, fmt: str | None, name: str | None, html_file: str | None) -> None:
    """List the fits recorded in the refit history PATH (written by `workbench fit --history PATH`):
    time, config name, convergence, each parameter ± its standard error, metrics and drift.
    Exit status: 0 listed, 2 PATH is missing, corrupt or not a refit history, 74 the --html file
    cannot be written."""
    from pathlib import Path

    from workbench.errors import InputError, did_you_mean
    from workbench.history import check_history, read_rows
    from workbench.history import table

    if not check_history(Path(path)):
        raise InputError("no refit history here (it is written by `workbench fit CONFIG --history PATH`)",
                         where=path)
    rows = read_rows(Path(path))
    if name is not None:
        names = list(dict.fromkeys(row.name for row in rows))
        rows = [row for row in rows if row.name == name]
        if not rows:
            raise InputError(f"no fits named {name!r} in the history{did_you_mean(name, names)}", where=path)
    if html_file is not None:
        from workbench.history.page import write_page

        write_page(Path(html_file), rows, path)
        click.echo(f"wrote {html_file}", err=fmt is not None)
        if fmt is None:
            return
    fmt = fmt or "table"
    if fmt == "csv":
        click.echo(table.csv_text(rows), nl=False)
    elif fmt == "json":
        click.echo(table.json_text(rows), nl=False)
    else:
        for line in table.table_lines(rows):
            click.echo(line)


def record_sweep_best(history: str, sweep_name: str, report) -> str | None:
    """Append a finished sweep's best run (``report``: its ``SweepReport``) to the history ``history``
    as source "sweep", labelled with the sweep's name and the run's overrides; a line saying so,
    or None when this invocation ran nothing (its best is already recorded) or nothing succeeded."""
    import json
    from pathlib import Path

    from workbench.history import record_fit
    from workbench.sweep.members import describe_overrides

    best = report.best
    if best is None or not report.ran or not best.result_dir:
        return None
    result = json.loads((Path(report.out_dir) / best.result_dir / "result.json").read_text(encoding="utf-8"))
    label = f"sweep {sweep_name}, run {best.key}: {describe_overrides(best.overrides)}"
    record_fit(history, result, source="sweep", label=label)
    return f"recorded the best run {best.key} in {history}"
