"""``workbench runs``: the runs of a sweep, from its run store.

    workbench runs [SWEEP_DIR] [--status done|failed|running|pending]
    workbench runs show KEY [SWEEP_DIR]        (a unique prefix of the key is enough)
    workbench runs --repair [SWEEP_DIR]        (rebuild a damaged store from the run folders)

A sweep that died (``kill -9``) is noticed here: its summary.json is marked interrupted.
"""

from __future__ import annotations

import json

import click

STATUSES = ("done", "failed", "running", "pending")


@click.command("runs")
@click.argument("args", nargs=-1, metavar="[SWEEP_DIR] | show KEY [SWEEP_DIR]")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only runs with this status.")
@click.option("--repair", is_flag=True,
              help="Rebuild a damaged or lost run store from the run folders (the old file is kept aside).")
def command(args: tuple[str, ...], status: str | None, repair: bool) -> None:
    """List the runs of the sweep whose output folder is SWEEP_DIR (default: here), or show
    one run's config, metrics and error with `workbench runs show KEY [SWEEP_DIR]`."""
    from pathlib import Path

    from workbench.sweep.status import mark_interrupted
    from workbench.sweep.store import STORE_NAME, RunStore

    if repair:
        if len(args) > 1 or (args and args[0] == "show"):
            raise click.UsageError("usage: workbench runs --repair [SWEEP_DIR]")
        _repair(Path(args[0] if args else "."))
        return

    if args and args[0] == "show":
        if len(args) not in (2, 3):
            raise click.UsageError("usage: workbench runs show KEY [SWEEP_DIR]")
        folder = Path(args[2] if len(args) == 3 else ".")
        with RunStore(folder / STORE_NAME, create=False) as store:
            _show(store.find(args[1]), folder)
        return
    if len(args) > 1:
        raise click.UsageError("give one sweep output folder (or: runs show KEY [SWEEP_DIR])")
    folder = Path(args[0] if args else ".")
    with RunStore(folder / STORE_NAME, create=False) as store:
        metric = store.get_meta("metric") or "loss"
        records = store.records(status=status)
    interrupted = mark_interrupted(folder)
    if interrupted is not None:
        counts = interrupted["counts"]
        click.echo(f"state: interrupted ({interrupted['notes'][0]}): {counts['done']} done, {counts['failed']} "
                   f"failed, {counts['pending']} pending")
    _table(records, metric)


def _repair(folder) -> None:
    from workbench.sweep.repair import repair_store

    repair = repair_store(folder)
    for path in repair.moved_aside:
        click.echo(f"moved the damaged {path.name.split('.damaged-')[0]} aside to {path}")
    click.echo(f"rebuilt {repair.store} from {repair.adopted} run folder(s); runs without a finished folder "
               f"will run again on the next `workbench sweep`")
    for reason in repair.skipped:
        click.echo(f"  skipped {reason}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _short(overrides: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in overrides.items()) or "(as written)"


def _table(records, metric: str) -> None:
    if not records:
        click.echo("no runs")
        return
    header = ("key", "status", metric, "tries", "seconds", "finished", "overrides / error")
    rows = []
    for r in records:
        tail = _short(r.overrides)
        if r.error:
            tail += f"  error: {r.error[:80]}"
        rows.append((r.key, r.status, _fmt((r.metrics or {}).get(metric)), str(r.attempts), _fmt(r.elapsed_s),
                     r.finished_at or "-", tail))
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header) - 1)]
    for row in [header] + rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])


def _show(record, folder) -> None:
    from workbench.config import to_yaml

    click.echo(f"key       {record.key}")
    click.echo(f"status    {record.status} (attempts: {record.attempts})")
    click.echo(f"config    {record.config_path}")
    click.echo(f"overrides {_short(record.overrides)}")
    click.echo(f"started   {record.started_at or '-'}   finished {record.finished_at or '-'}   "
               f"host {record.host or '-'}   seconds {_fmt(record.elapsed_s)}")
    if record.result_dir:
        click.echo(f"outputs   {(folder / record.result_dir).resolve()}")
    if record.error:
        click.echo(f"error     {record.error}")
    if record.metrics:
        click.echo("metrics")
        for name, value in record.metrics.items():
            click.echo(f"  {name:<20} {_fmt(value)}")
    click.echo("resolved config")
    for line in to_yaml(record.config).rstrip().splitlines():
        click.echo(f"  {line}")
