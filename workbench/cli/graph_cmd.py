"""``workbench graph CONFIG``: draw the model's computational graph at one data row (``--loss``: the
loss's); ``--trace`` prints the chain rule step by step."""

from __future__ import annotations

import click

from workbench.cli.options import config_argument, out_option, quiet_option, set_option


def _row_index(prepared, row: int | None) -> int:
    """0-based index among the fitted rows of spreadsheet row ``row`` (default: a row worth tracing)."""
    import numpy as np

    from workbench.errors import InputError
    from workbench.report.model_graph import default_row

    numbers = np.asarray(prepared.dataset.row_numbers)[prepared.train_rows]
    if row is None:
        return default_row(prepared)
    where = np.nonzero(numbers == row)[0]
    if where.size == 0:
        raise InputError(f"data row {row} is not among the rows the fit uses (rows {numbers.min()} to "
                         f"{numbers.max()}, minus dropped and held-out ones)", where="--row")
    return int(where[0])


@click.command("graph")
@config_argument
@click.option("--at", "at", type=click.Choice(("init", "fit")), default="init", show_default=True,
              help="Parameters at their starting values, or at the last fit's values.")
@click.option("--format", "fmt", type=click.Choice(("svg", "png", "dot")), default="svg", show_default=True,
              help="Picture format, or the DOT text itself.")
@out_option
@set_option
@click.option("--loss", "whole_loss", is_flag=True,
              help="Draw the loss over all rows (adjoints ∂loss/∂node) instead of the model at one row.")
@click.option("--trace", is_flag=True,
              help="Also print the engine's step-by-step chain-rule trace of the model at the row.")
@click.option("--row", type=click.IntRange(min=1), default=None,
              help="Spreadsheet row number to draw and trace (default: the first used row whose data "
                   "values are all non-zero).")
@quiet_option
def command(config: str, at: str, fmt: str, out: str | None, overrides: tuple[str, ...], whole_loss: bool,
            trace: bool, row: int | None, quiet: bool) -> None:
    """Draw the computational graph of CONFIG's model at one data row: one box per operation, with
    its value and ∂prediction/∂node; parameters by name, fixed ones marked "(fixed)".

    Uses Graphviz when installed and a matplotlib layout otherwise. Writes graph-init.svg (or
    graph-fit.png, graph-init.dot, ...; graph-loss-init.svg with --loss) to the output folder.
    """
    import numpy as np

    from workbench.atomic import ensure_dir, write_bytes, write_text
    from workbench.config import load_config
    from workbench.pipeline.check import fitted_point
    from workbench.pipeline.fit import resolve_out_dir
    from workbench.pipeline.prepare import prepare
    from workbench.report.graph import render_dot
    from workbench.report.model_graph import graph_dot, model_dot, row_trace

    cfg = load_config(config, overrides)
    out_dir = resolve_out_dir(cfg, out)
    prepared = prepare(cfg)
    x = prepared.x0 if at == "init" else fitted_point(prepared, out_dir, otherwise="use --at init")
    index = _row_index(prepared, row)
    ensure_dir(out_dir)
    text = graph_dot(prepared, x) if whole_loss else model_dot(prepared, x, index)
    target = out_dir / f"graph-{'loss-' if whole_loss else ''}{at}.{fmt}"
    if fmt == "dot":
        write_text(target, text)
        renderer = "the engine's DOT export"
    else:
        image, renderer = render_dot(text, fmt)
        write_bytes(target, image)
    spreadsheet_row = int(np.asarray(prepared.dataset.row_numbers)[prepared.train_rows][index])
    point = "starting values" if at == "init" else "fitted values"
    if trace:
        click.echo(f"The model at data row {spreadsheet_row}, parameters at their {point}:")
        click.echo(str(row_trace(prepared, x, index)))
    if not quiet:
        drawn = "the loss over all rows" if whole_loss else f"the model at data row {spreadsheet_row}"
        click.echo(f"wrote {target} ({drawn}, {renderer})")
