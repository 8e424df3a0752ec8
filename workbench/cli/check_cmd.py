"""``workbench check CONFIG``: verify the derivatives of a config's loss and model; exit 1 if any disagree."""

from __future__ import annotations

import click

from workbench.cli.options import config_argument, out_option, quiet_option, set_option

MAX_PRINTED_ROWS = 20


def _g(value) -> str:
    return "—" if value is None else f"{value:.9e}"


def _numeric(r) -> str:
    """The numeric column: the estimate ± its error, or "inconclusive" where noise outweighs it."""
    if r.numeric_verdict == "inconclusive":
        return "inconclusive"
    if r.numeric_error is None or r.richardson is None:
        return _g(r.richardson)
    return f"{r.richardson:.9e} ± {r.numeric_error:.1e}"


def _ok(r) -> str:
    if not r.passed:
        return "FAIL"
    return "ok" if r.numeric_verdict == "agrees" else "ok (exact only)"


def _table(rows, with_row: bool) -> list[str]:
    ordered = [r for r in rows if not r.passed] + [r for r in rows if r.passed]
    width = max([len(r.parameter) for r in rows] + [9])
    lead = f"{'row':>6}  " if with_row else ""
    lines = [f"    {lead}{'parameter':<{width}}  {'reverse':>16}  {'forward':>16}  {'numeric ± error':>26}  "
             f"{'÷ tol':>7}  verdict"]
    for r in ordered[:MAX_PRINTED_ROWS]:
        lead = f"{r.row:>6}  " if with_row else ""
        lines.append(f"    {lead}{r.parameter:<{width}}  {_g(r.reverse):>16}  {_g(r.forward):>16}  "
                     f"{_numeric(r):>26}  {r.score:>7.1e}  {_ok(r)}")
    if len(ordered) > MAX_PRINTED_ROWS:
        lines.append(f"    … {len(ordered) - MAX_PRINTED_ROWS} more, none failed (see gradcheck.html)")
    return lines


POINT_VERDICTS = {"verified": "verified", "inconclusive": "inconclusive", "failed": "FAILED"}


def format_report(report) -> str:
    """The check as the terminal shows it: per point, the gradient table and the other verdicts."""
    lines = []
    for p in report.points:
        unconfirmed = (f" (no numeric estimate confirms {', '.join(p.inconclusive_parameters)})"
                       if p.verdict == "inconclusive" else "")
        lines.append(f"{report.name}: gradient check at {p.label} (loss {p.loss:.9g}): "
                     f"{POINT_VERDICTS[p.verdict]}{unconfirmed}")
        lines.append(f"  gradient of the loss, {len(p.gradient)} of {p.n_params} parameters:")
        lines += _table(p.gradient, with_row=False)
        if p.jacobian:
            rows = len(dict.fromkeys(r.row for r in p.jacobian))
            failed = [r for r in p.jacobian if not r.passed]
            lines.append(f"  model Jacobian on {rows} rows: {len(p.jacobian)} entries, worst "
                         f"{p.worst(p.jacobian):.1e} of the tolerance: {'FAILED' if failed else 'no disagreement'}")
            if failed:
                lines += _table(failed, with_row=True)
        d = p.direction
        if d:
            lines.append(f"  forward mode along a random direction: {'agrees' if d['passed'] else 'DISAGREES'} "
                         f"(jvp {d['forward']:.9g}, reverse {d['reverse']:.9g}, numeric {d['numeric']:.9g}"
                         f"{' — inconclusive' if d.get('numeric_verdict') == 'inconclusive' else ''})")
        verdict = ("all agree" if not p.failing_primitives else
                   "the rule of " + ", ".join(p.failing_primitives) + " DISAGREES with its forward")
        if p.non_differentiable and not p.failing_primitives:
            verdict = ("the derivative of " + ", ".join(p.non_differentiable) + " is infinite here: the function "
                       "is not differentiable at this point (no rule is wrong)")
        lines.append(f"  per-node check: {p.node_rules} rules, {verdict}")
    lines.append(f"{report.name}: gradient check {report.verdict.upper() if report.verdict == 'failed' else report.verdict}"
                 f": {report.detail()}")
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

    Compares reverse mode (what the optimizers use) with forward mode and with numeric
    differences (Ridders' extrapolation, with an error estimate) for every free parameter, and
    checks each operation's rule on its own, naming the one that is wrong. The verdict is
    verified, inconclusive (nothing disagrees, but numeric noise hides some derivative) or failed.
    Writes gradcheck.json and gradcheck.html to the output folder.
    Exit status: 0 verified or inconclusive, 1 failed, 2 bad input.
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
    if report.verdict == "failed":
        culprit = (": the rule of " + ", ".join(report.failing_primitives) + " is wrong"
                   if report.failing_primitives else f": {report.detail()}")
        click.echo(f"error: the gradient check failed{culprit} (details in {out_dir / 'gradcheck.html'})",
                   err=True)
        ctx.exit(EXIT_FAILED)
