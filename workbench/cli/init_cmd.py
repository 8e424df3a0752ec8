"""``workbench init DATAFILE``: write a starter config from a data file's columns."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("init")
@click.argument("datafile", type=click.Path(dir_okay=False))
@click.option("--sheet", default=None, help="Excel sheet: a name or a position (1 = first).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Config file to write (default: <data name>.yaml in the current folder).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def command(datafile: str, sheet: str | None, out: str | None, force: bool) -> None:
    """Write a starter config for DATAFILE: a linear model of its last numeric column on the others."""
    from workbench.atomic import write_text
    from workbench.data import numeric_columns
    from workbench.errors import InputError

    data_path = Path(datafile)
    if sheet is not None and sheet.isdigit():
        sheet = int(sheet)
    target_path = Path(out) if out else Path(f"{data_path.stem}.yaml")
    if target_path.exists() and not force:
        raise InputError(f"{target_path} already exists (use --force to overwrite)")
    numeric = numeric_columns(data_path, sheet)
    if len(numeric) < 2:
        raise InputError(f"{datafile}: needs at least two numeric columns to start a model, found "
                         f"{len(numeric)}: {', '.join(numeric) or 'none'}")
    relative = os.path.relpath(data_path.resolve(), target_path.resolve().parent)
    text = starter_config_text(name=data_path.stem, data_path=relative, sheet=sheet,
                               target=numeric[-1], inputs=numeric[:-1])
    from workbench.config import parse_config
    import yaml

    parse_config(yaml.safe_load(text), base_dir=target_path.resolve().parent, source=str(target_path))
    write_text(target_path, text)
    click.echo(f"wrote {target_path}: {numeric[-1]} ~ linear in {', '.join(numeric[:-1])}; "
               f"edit it, then run: workbench validate {target_path}")


def starter_config_text(*, name: str, data_path: str, sheet, target: str, inputs: list[str]) -> str:
    """A commented starter config; every line is a real, valid key."""
    import json

    sheet_line = f"  sheet: {json.dumps(sheet)}\n" if sheet is not None else ""
    input_list = ", ".join(json.dumps(c) for c in inputs)
    return (
        f"# Starter config written by `workbench init`. Check it with: workbench validate <this file>\n"
        f"name: {json.dumps(name)}\n"
        f"data:\n"
        f"  path: {json.dumps(data_path)}        # relative to this file\n"
        f"{sheet_line}"
        f"model:\n"
        f"  type: linear                 # or write a formula instead: formula: \"{target} ~ a * x + b\"\n"
        f"  inputs: [{input_list}]\n"
        f"  target: {json.dumps(target)}\n"
        f"loss: mse\n"
        f"optimizer:\n"
        f"  name: lm                     # gd | momentum | nesterov | adagrad | rmsprop | adam | adamw | lbfgs | lm\n"
        f"  max_steps: 1000\n"
        f"seed: 0\n"
    )
