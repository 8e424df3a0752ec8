"""``workbench graph CONFIG``: draw the model's computational graph; ``--trace`` prints the chain rule."""

from __future__ import annotations

import click

from workbench.cli.options import config_argument, out_option, quiet_option, set_option


def _trace_row(prepared, row: int | None) -> int:
    """0-based index among the fitted rows of spreadsheet row ``row`` (default: the first)."""
    import numpy as np

    from workbench.errors import InputError

    numbers = np.asarray(prepared.dataset.row_numbers)[prepared.train_rows]
    if row is None:
        return 0
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
@click.option("--trace", is_flag=True,
              help="Also print the engine's step-by-step chain-rule trace of the model at one data row.")
@click.option("--row", type=click.IntRange(min=1), default=None,
              help="Spreadsheet row number for --trace (default: the first row used).")
@quiet_option
def command(config: str, at: str, fmt: str, out: str | None, overrides: tuple[str, ...], trace: bool,
            row: int | None, quiet: bool) -> None:
    """Draw the computational graph of CONFIG's loss: one box per operation, with its value and,
    from a backward pass, its gradient.

    Uses Graphviz when installed and a matplotlib layout otherwise. Writes graph-init.svg (or
    graph-fit.png, graph-init.dot, ...) to the output folder.
    """
    from workbench.atomic import ensure_dir, write_bytes, write_text
    from workbench.config import load_config
    from workbench.pipeline.check import fitted_point
    from workbench.pipeline.fit import resolve_out_dir
    from workbench.pipeline.prepare import prepare
    from workbench.report.graph import render_dot
    from workbench.report.model_graph import graph_dot, row_trace

    cfg = load_config(config, overrides)
    out_dir = resolve_out_dir(cfg, out)
    prepared = prepare(cfg)
    x = prepared.x0 if at == "init" else fitted_point(prepared, out_dir, otherwise="use --at init")
    index = _trace_row(prepared, row) if trace else 0
    ensure_dir(out_dir)
    text = graph_dot(prepared, x)
    target = out_dir / f"graph-{at}.{fmt}"
    if fmt == "dot":
        write_text(target, text)
        renderer = "the engine's DOT export"
    else:
        image, renderer = render_dot(text, fmt)
        write_bytes(target, image)
    if trace:
        import numpy as np

        spreadsheet_row = int(np.asarray(prepared.dataset.row_numbers)[prepared.train_rows][index])
        point = "starting values" if at == "init" else "fitted values"
        click.echo(f"The model at data row {spreadsheet_row}, parameters at their {point}:")
        click.echo(str(row_trace(prepared, x, index)))
    if not quiet:
        click.echo(f"wrote {target} ({renderer})")
