"""Options shared by several commands, declared once."""

from __future__ import annotations

import click

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE",
    help="Override a config key by its dotted path, e.g. --set optimizer.lr=0.01 (repeatable).")
out_option = click.option(
    "--out", "out", type=click.Path(file_okay=False), default=None,
    help="Output folder (default: output.dir of the config, else reports/<name>/).")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
scheduler_option = click.option(
    "--scheduler", default=None, metavar="ADDRESS",
    help="Dask scheduler (tcp://host:8786) that computes the sums over the data's rows; "
         "default: execution.scheduler of the config, else this machine.")


def with_scheduler(overrides: tuple[str, ...], scheduler: str | None) -> tuple[str, ...]:
    """``--scheduler ADDRESS`` as the override ``execution.scheduler=ADDRESS``."""
    return (*overrides, f"execution.scheduler={scheduler}") if scheduler else overrides
config_argument = click.argument("config", type=click.Path(dir_okay=False))
