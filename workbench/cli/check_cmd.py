"""``workbench check CONFIG``: verify the derivatives of a config's loss and model; exit 1 if any disagree."""

from __future__ import annotations

import click

from workbench.cli.options import config_argument, out_option, quiet_option, set_option

MAX_PRINTED_ROWS = 20


def _g(value) -> str:
    return "—" if value is None else f"{value:.9e}"


def _table(rows, with_row: bool) -> list[str]:
    ordered = [r for r in rows if not r.passed] + [r for r in rows if r.passed]
    width = max([len(r.parameter) for r in rows] + [9])
    lead = f"{'row':>6}  " if with_row else ""
    lines = [f"    {lead}{'parameter':<{width}}  {'reverse':>16}  {'forward':>16}  {'central':>16}  "
             f"{'richardson':>16}  {'rel err':>8}  {'÷ tol':>7}  ok"]
    for r in ordered[:MAX_PRINTED_ROWS]:
        lead = f"{r.row:>6}  " if with_row else ""
        lines.append(f"    {lead}{r.parameter:<{width}}  {_g(r.reverse):>16}  {_g(r.forward):>16}  "
                     f"{_g(r.central):>16}  {_g(r.richardson):>16}  {r.rel_error:>8.1e}  {r.score:>7.1e}  "
                     f"{'ok' if r.passed else 'FAIL'}")
    if len(ordered) > MAX_PRINTED_ROWS:
        lines.append(f"    … {len(ordered) - MAX_PRINTED_ROWS} more, all passed (see gradcheck.html)")
    return lines


def format_report(report) -> str:
    """The check as the terminal shows it: per point, the gradient table and the other verdicts."""
    lines = []
    for p in report.points:
        lines.append(f"{report.name}: gradient check at {p.label} (loss {p.loss:.9g}): "
                     f"{'passed' if p.passed else 'FAILED'}")
        lines.append(f"  gradient of the loss, {len(p.gradient)} of {p.n_params} parameters:")
        lines += _table(p.gradient, with_row=False)
        if p.jacobian:
            rows = len(dict.fromkeys(r.row for r in p.jacobian))
            failed = [r for r in p.jacobian if not r.passed]
            lines.append(f"  model Jacobian on {rows} rows: {len(p.jacobian)} entries, worst "
                         f"{p.worst(p.jacobian):.1e} of the tolerance: {'FAILED' if failed else 'passed'}")
            if failed:
                lines += _table(failed, with_row=True)
        d = p.direction
        if d:
            lines.append(f"  forward mode along a random direction: {'agrees' if d['passed'] else 'DISAGREES'} "
                         f"(jvp {d['forward']:.9g}, reverse {d['reverse']:.9g}, numeric {d['numeric']:.9g})")
        verdict = ("all agree" if not p.failing_primitives else
                   "the rule of " + ", ".join(p.failing_primitives) + " DISAGREES with its forward")
        lines.append(f"  per-node check: {p.node_rules} rules, {verdict}")
    return "\n".join(lines)


@click.command("check")
@config_argument
@out_option
@set_option
@click.option("--at", "at", type=click.Choice(("init", "fit", "both")), default="both", show_default=True,
              help="Check at the starting values, at the fitted values (needs a fit), or both "
                   "(fitting first if there is no fit yet).")
@click.option("--rows", type=click.IntRange(min=0), default=5, show_default=True,
              help="Data rows on which to check the model's Jacobian (0: the loss's gradient only).")
@quiet_option
@click.pass_context
def command(ctx: click.Context, config: str, out: str | None, overrides: tuple[str, ...], at: str, rows: int,
            quiet: bool) -> None:
    """Check the derivatives of CONFIG's loss and model against numerical ones.

    Compares reverse mode (what the optimizers use) with forward mode, central differences and
    Richardson extrapolation for every free parameter, and checks each operation's rule on its own,
    naming the one that is wrong. Writes gradcheck.json and gradcheck.html to the output folder.
    Exit status: 0 all pass, 1 any fails, 2 bad input.
    """
    from workbench.config import load_config
    from workbench.errors import EXIT_FAILED
    from workbench.pipeline.check import run_check
    from workbench.pipeline.fit import resolve_out_dir

    cfg = load_config(config, overrides)
    out_dir = resolve_out_dir(cfg, out)
    report = run_check(cfg, out_dir, at=at, rows=rows, quiet=quiet)
    if not quiet:
        click.echo(format_report(report))
        click.echo(f"  wrote {out_dir / 'gradcheck.json'} and {out_dir / 'gradcheck.html'}")
    if not report.passed:
        culprit = (": the rule of " + ", ".join(report.failing_primitives) + " is wrong"
                   if report.failing_primitives else "")
        click.echo(f"error: the gradient check failed{culprit} (details in {out_dir / 'gradcheck.html'})",
                   err=True)
        ctx.exit(EXIT_FAILED)
