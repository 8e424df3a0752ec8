"""``workbench validate CONFIG``: check config and data, print what was understood, fit nothing."""

from __future__ import annotations

import click

from workbench.cli.options import config_argument, scheduler_option, set_option, with_scheduler


@click.command("validate")
@config_argument
@set_option
@click.option("--show", is_flag=True, help="Print the resolved config as YAML (base files merged, ${VAR} "
              "filled in, --set applied, defaults written out) instead of checking the data.")
@scheduler_option
def command(config: str, overrides: tuple[str, ...], show: bool, scheduler: str | None) -> None:
    """Check CONFIG and its data without fitting: rows used and dropped, columns, parameters
    with their starting values, the parsed formula. Exit status 0 when valid, 2 otherwise."""
    import numpy as np

    from workbench.config import load_config, to_yaml

    cfg = load_config(config, with_scheduler(overrides, scheduler))
    if show:
        click.echo(to_yaml(cfg), nl=False)
        return
    from workbench.pipeline.fit import close_fit_objective
    from workbench.pipeline.prepare import prepare
    from workbench.report.text import count

    prepared = prepare(cfg)
    try:          # on a cluster the rows stay on the workers: the counts are the whole table's
        used, held_out = (prepared.cluster.n, prepared.cluster.held_out_rows()) if prepared.cluster else \
            (prepared.dataset.n, len(prepared.val_rows))
    finally:
        close_fit_objective(prepared)         # a Dask client and the workers' rows, released now
    ds, model = prepared.dataset, prepared.model
    click.echo(f"config    {config}: valid")
    sheet = f", sheet {ds.sheet!r}" if ds.sheet is not None else ""
    click.echo(f"data      {ds.path}{sheet}: {count(ds.n_rows_read)} rows read, {count(used)} used, "
               f"{count(ds.n_dropped)} dropped")
    click.echo(f"          {ds.summary_sentence}")
    for row, reason in list(ds.dropped)[:5]:
        click.echo(f"          row {row}: {reason}")
    for name, origin in getattr(ds, "date_columns", {}).items():
        click.echo(f"dates     {name} = days since {origin}")
    for name, text in (getattr(cfg.data, "derive", None) or {}).items():
        click.echo(f"derived   {name} = {text}")
    for name, levels in prepared.levels.items():
        click.echo(f"category  {name}: {levels[0]} (reference), {', '.join(levels[1:])}")
    click.echo(f"columns   target {model.target!r}; inputs {', '.join(repr(c) for c in model.inputs)}")
    click.echo(f"model     {model.describe()}")
    click.echo(f"loss      {prepared.loss.name}" + (f" (weights: {cfg.loss.weights})" if cfg.loss.weights else ""))
    click.echo(f"optimizer {prepared.optimizer_name}")
    if held_out:
        click.echo(f"validation {count(held_out)} rows held out (seed {cfg.seed})")
    click.echo("params")
    for p in model.params:
        spec = cfg.params.get(p.name)
        init = np.asarray(p.init)
        value = f"{float(init):.6g}" if init.ndim == 0 else f"array{tuple(init.shape)}"
        extras = []
        if spec is not None and spec.fixed:
            extras.append("fixed")
        if spec is not None and spec.min is not None:
            extras.append(f"min {spec.min:g}")
        if spec is not None and spec.max is not None:
            extras.append(f"max {spec.max:g}")
        click.echo(f"  {p.name:<12} start {value}" + (f" ({', '.join(extras)})" if extras else ""))
    data_warnings = list(getattr(ds, "warnings", ()))
    for warning in data_warnings:
        click.echo(f"warning   {warning}")
    for note in prepared.notes:
        if note not in data_warnings:
            click.echo(f"note      {note}")
