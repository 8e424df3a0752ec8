"""A sweep's plan: the sweep file and every member checked, the output folder chosen; and what
``--dry-run`` prints. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.sweep.members import Expansion, Member, describe_overrides, expand
from workbench.sweep.spec import SweepSpec, load_sweep
from workbench.sweep.store import STORE_NAME, RunStore


@dataclass
class Plan:
    spec: SweepSpec
    expansion: Expansion
    out_dir: Path

    @property
    def members(self) -> list[Member]:
        return self.expansion.members


def default_out_dir(spec: SweepSpec) -> Path:
    """``output:`` of the sweep file (relative to it), else reports/sweeps/<name>/ here."""
    return spec.output if spec.output is not None else (Path("reports") / "sweeps" / spec.name).resolve()


def plan_sweep(sweep_file: str | Path, out: str | Path | None = None) -> Plan:
    """Read and check the sweep, every member's config and the output folder; nothing is written."""
    from workbench.sweep.folder import check_output_folder

    spec = load_sweep(sweep_file)
    out_dir = Path(out).expanduser().resolve() if out is not None else default_out_dir(spec)
    check_output_folder(out_dir)
    return Plan(spec, expand(spec), out_dir)


def dry_run_lines(plan: Plan):
    """What ``--dry-run`` prints, line by line: a header, then one line per run (key, stored
    status, config, overrides)."""
    statuses = {}
    store_path = plan.out_dir / STORE_NAME
    if store_path.is_file() and store_path.stat().st_size:
        with RunStore(store_path, create=False) as store:
            statuses = dict(store.conn.execute("SELECT key, status FROM runs").fetchall())
    spec, members = plan.spec, plan.members
    how = f"random, {spec.trials} trials, seed {spec.seed}" if spec.strategy == "random" else "grid"
    yield (f"{spec.name}: {len(members)} runs ({how}; ranked by {plan.expansion.metric}, "
           f"{plan.expansion.goal}) -> {plan.out_dir}")
    yield from (f"note: {note}" for note in plan.expansion.notes)
    several = len(spec.configs) > 1
    for m in members:
        where = f"{m.config_path.name}  " if several else ""
        yield f"{m.key}  {statuses.get(m.key, 'new'):<7}  {where}{describe_overrides(m.overrides)}"
