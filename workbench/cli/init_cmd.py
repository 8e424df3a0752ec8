"""``workbench init DATAFILE``: write a starter config from a data file's columns."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command("init")
@click.argument("datafile", type=click.Path(dir_okay=False))
@click.option("--target", default=None, metavar="COLUMN",
              help="The column to predict. Asked for when run at a terminal; required otherwise.")
@click.option("--sheet", default=None, help="Excel sheet: a name or a position (1 = first).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Config file to write (default: <data name>.yaml in the current folder).")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def command(datafile: str, target: str | None, sheet: str | None, out: str | None, force: bool) -> None:
    """Write a starter config for DATAFILE: a linear model of the --target column on the other
    numeric columns."""
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
    target = _chosen_target(datafile, numeric, target)
    inputs = [c for c in numeric if c != target]
    relative = os.path.relpath(data_path.resolve(), target_path.resolve().parent)
    text = starter_config_text(name=data_path.stem, data_path=relative, sheet=sheet,
                               target=target, inputs=inputs)
    from workbench.config import parse_config
    import yaml

    parse_config(yaml.safe_load(text), base_dir=target_path.resolve().parent, source=str(target_path))
    write_text(target_path, text)
    click.echo(f"wrote {target_path}: {target} ~ linear in {', '.join(inputs)}; "
               f"edit it, then run: workbench validate {target_path}")


def stdin_is_interactive() -> bool:
    """True at a terminal, where asking is better than refusing."""
    import sys

    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):        # closed or detached stdin
        return False


def _chosen_target(datafile: str, numeric: list[str], given: str | None) -> str:
    """The target column: ``--target``, else asked at a terminal; never guessed."""
    from workbench.errors import InputError, did_you_mean

    listed = ", ".join(numeric)
    if given is not None:
        if given not in numeric:
            raise InputError(f"--target {given!r} is not a numeric column{did_you_mean(given, numeric)}; "
                             f"numeric columns: {listed}", where=datafile)
        return given
    if not stdin_is_interactive():
        raise InputError(f"which column is the target? Give --target COLUMN, one of: {listed}", where=datafile)
    click.echo(f"numeric columns: {listed}")
    return click.prompt("target column (the one to predict)", type=click.Choice(numeric), show_choices=False)


def _quoted(value) -> str:
    """A YAML double-quoted scalar that keeps non-ASCII text as written (日付, not \\u65e5\\u4ed8)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def _formula_hint(target: str, inputs: list[str]) -> str:
    """``target ~ a * input + b`` with names that need them in backticks (``Units Sold``), as
    text for inside a YAML double-quoted string."""
    from workbench.formula.ir import name_text

    example = name_text(inputs[0]) if inputs else "x"
    return _quoted(f"{name_text(target)} ~ a * {example} + b")


def starter_config_text(*, name: str, data_path: str, sheet, target: str, inputs: list[str]) -> str:
    """A commented starter config; every line is a real, valid key."""
    sheet_line = f"  sheet: {_quoted(sheet)}\n" if sheet is not None else ""
    input_list = ", ".join(_quoted(c) for c in inputs)
    return (
        f"# Starter config written by `workbench init`. Check it with: workbench validate <this file>\n"
        f"name: {_quoted(name)}\n"
        f"data:\n"
        f"  path: {_quoted(data_path)}        # relative to this file\n"
        f"{sheet_line}"
        f"model:\n"
        f"  type: linear                 # or write a formula instead: formula: {_formula_hint(target, inputs)}\n"
        f"  inputs: [{input_list}]\n"
        f"  target: {_quoted(target)}\n"
        f"loss: mse\n"
        f"optimizer:\n"
        f"  name: lm                     # gd | momentum | nesterov | adagrad | rmsprop | adam | adamw | lbfgs | lm\n"
        f"  max_steps: 1000\n"
        f"seed: 0\n"
    )
