"""The short table ``workbench fit`` prints at the end: parameters ± standard error, loss, R²,
and whether and why it converged."""

from __future__ import annotations

import click


def _fmt(value, digits: int = 6) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}g}"


def print_summary(outcome) -> None:
    result = outcome.result
    model = outcome.prepared.model
    if not model.is_scalar:
        _print_network(outcome)
        return
    rows = outcome.params_table
    shown = rows if len(rows) <= 20 else rows[:20]
    width = max([len(r["name"]) for r in shown] + [9])
    click.echo(f"{result['name']}: {result['model']}")
    click.echo(f"  {'parameter':<{width}}  {'value':>14}  {'std. error':>12}")
    for r in shown:
        note = "  (fixed)" if r["fixed"] else ""
        click.echo(f"  {r['name']:<{width}}  {_fmt(r['value'], 8):>14}  {_fmt(r['stderr'], 4):>12}{note}")
    if len(rows) > len(shown):
        click.echo(f"  … and {len(rows) - len(shown)} more in params.csv")
    _print_quality(outcome)


def _print_network(outcome) -> None:
    """A network's weights are not worth reading one by one: name the arrays instead."""
    model = outcome.prepared.model
    click.echo(f"{outcome.result['name']}: {outcome.result['model']}")
    arrays = ", ".join(f"{p.name} {'×'.join(map(str, p.shape))}" for p in model.params)
    click.echo(f"  {sum(p.size for p in model.params)} parameters in {len(model.params)} arrays ({arrays}); "
               f"values in params.csv")
    _print_quality(outcome)


def _print_quality(outcome) -> None:
    from workbench.optim.base import steps
    from workbench.report.text import count

    result = outcome.result
    metrics = result["metrics"]
    r2 = metrics.get("r2")
    click.echo(f"  loss {_fmt(result['loss'])}   R² {_fmt(r2, 4)}   RMSE {_fmt(metrics.get('rmse'), 4)}"
               f"   rows {count(metrics['n'])}")
    state = "converged" if result["converged"] else "DID NOT CONVERGE"
    click.echo(f"  {state} after {steps(result['iterations'])} ({result['optimizer']}): {result['message']}")
    check = result.get("gradient_check")
    if check:
        verdict = "FAILED" if check["verdict"] == "failed" else check["verdict"].replace("_", " ")
        click.echo(f"  gradient check {verdict}: {check['detail']}")
    for warning in outcome.warnings:
        click.echo(f"  warning: {warning}")
    click.echo(f"  outputs in {outcome.out_dir}")


def gradient_check_failure(outcome, config_path: str) -> str | None:
    """The one line ``workbench fit`` ends with (exit 1) when its own gradient check failed."""
    check = outcome.result.get("gradient_check") or {}
    if check.get("verdict") != "failed":
        return None
    return (f"the gradient check failed: {check['detail']}; every output is written to {outcome.destination}, "
            f"but the fit may be wrong (`workbench check {config_path}` shows each derivative)")
