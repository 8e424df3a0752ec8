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
config_argument = click.argument("config", type=click.Path(dir_okay=False))
