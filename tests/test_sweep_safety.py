"""Sweeps that never destroy and never crash: folders they do not own, duplicate keys, globs that
leave the sweep's folder, corrupt stores and their repair, huge grids, per-run limits, and
infrastructure failures (issues 16 and 9)."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest

from sweep_runners import make_sweep, markers, store_rows  # noqa: F401 (fixture)
from workbench.cli import main


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def sweep(capsys, path: Path, *extra: str, runner: str = "sweep_runners:scored"):
    return cli(capsys, "sweep", str(path), "--workers", "2", "--runner", runner, "-q", *extra)


def test_restart_into_a_folder_that_is_not_a_sweeps_exits_2_and_deletes_nothing(tmp_path, capsys, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]")
    proj = tmp_path / "proj"
    (proj / "runs" / "exp1").mkdir(parents=True)
    (proj / "runs" / "exp1" / "events.out").write_text("tensorboard events")
    (proj / "summary.json").write_text('{"theirs": 1}')
    for extra in (("--restart",), ()):
        status, _, err = sweep(capsys, path, "--out", str(proj), *extra)
        assert status == 2
        assert err.startswith(f"error: {proj}: not a sweep output folder (it has no runs.sqlite)")
    assert (proj / "runs" / "exp1" / "events.out").read_text() == "tensorboard events"
    assert (proj / "summary.json").read_text() == '{"theirs": 1}'
    assert sorted(p.name for p in proj.rglob("*")) == ["events.out", "exp1", "runs", "summary.json"]


def test_restart_deletes_only_what_the_sweep_wrote(tmp_path, capsys, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]")
    out = tmp_path / "out"
    assert sweep(capsys, path)[0] == 0
    (out / "notes.txt").write_text("mine")
    (out / "runs" / "exp1").mkdir()
    (out / "runs" / "exp1" / "events.out").write_text("mine too")
    assert sweep(capsys, path, "--restart")[0] == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "runs" / "exp1" / "events.out").read_text() == "mine too"
    assert {r["attempts"] for r in store_rows(out).values()} == {1}


def test_duplicate_keys_in_a_sweep_file_exit_2_naming_the_key(tmp_path, capsys):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]\noptimizer.lr: [0.1]")
    status, _, err = cli(capsys, "sweep", str(path), "--dry-run")
    assert status == 2 and "space.optimizer.lr: given twice, at lines" in err


@pytest.mark.parametrize("pattern", ["/**/*.yaml", "../*.yaml", "sub/../../*.yaml", "~/*.yaml"])
def test_configs_globs_that_leave_the_sweep_folder_exit_2(tmp_path, capsys, pattern):
    make_sweep(tmp_path, "optimizer.lr: [0.01]")
    path = tmp_path / "folder_sweep.yaml"
    path.write_text(f"name: f\nconfigs: [{pattern!r}]\n")
    status, _, err = cli(capsys, "sweep", str(path), "--dry-run")
    assert status == 2 and f"{path}: configs: {pattern!r} leaves the sweep file's folder" in err


def _garbage(store: Path) -> None:
    store.write_bytes(b"this is not a database" * 100)


def _truncated(store: Path) -> None:
    data = store.read_bytes()
    store.write_bytes(data[:1500])


def _foreign(store: Path) -> None:
    store.unlink()
    with sqlite3.connect(store) as conn:
        conn.execute("CREATE TABLE events (t REAL, value TEXT)")


def _old_schema(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE meta SET value = '0' WHERE name = 'schema_version'")


@pytest.mark.parametrize("damage", [_garbage, _truncated, _foreign, _old_schema])
def test_a_corrupt_store_exits_2_from_sweep_runs_and_dry_run_and_is_never_changed(tmp_path, capsys, markers,
                                                                                   damage):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1, 1.0]")
    out = tmp_path / "out"
    assert sweep(capsys, path)[0] == 0
    for name in ("runs.sqlite-wal", "runs.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    store = out / "runs.sqlite"
    damage(store)
    damaged = store.read_bytes()
    for args in (("sweep", str(path), "--runner", "sweep_runners:scored"), ("sweep", str(path), "--dry-run"),
                 ("sweep", str(path), "--restart", "--runner", "sweep_runners:scored"), ("runs", str(out))):
        status, _, err = cli(capsys, *args)
        assert status == 2, (args, err)
        assert err.startswith(f"error: {store}: ") and "workbench runs --repair" in err, err
        assert len(err.strip().splitlines()) == 1
        assert store.read_bytes() == damaged

    status, text, err = cli(capsys, "runs", "--repair", str(out))
    assert status == 0, err
    (aside,) = out.glob("runs.sqlite.damaged-*")
    assert aside.read_bytes() == damaged
    assert "rebuilt" in text and "from 3 run folder(s)" in text
    assert {r["status"] for r in store_rows(out).values()} == {"done"} and len(store_rows(out)) == 3
    status, _, _ = sweep(capsys, path)
    assert status == 0
    assert sum(1 for _ in markers.iterdir()) == 3            # the repaired runs were not run again


def test_repair_refuses_a_folder_that_is_not_a_sweeps_and_a_healthy_store(tmp_path, capsys, markers):
    status, _, err = cli(capsys, "runs", "--repair", str(tmp_path))
    assert status == 2 and "not a sweep output folder" in err
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]")
    assert sweep(capsys, path)[0] == 0
    status, _, err = cli(capsys, "runs", "--repair", str(tmp_path / "out"))
    assert status == 2 and "nothing to repair" in err


def test_a_grid_of_1e10_points_and_1e9_trials_are_counted_and_refused(tmp_path, capsys):
    values = "[" + ", ".join(str(v) for v in range(100)) + "]"
    keys = ["params.a.init", "params.b.init", "params.c.init", "optimizer.max_steps", "seed"]
    grid = make_sweep(tmp_path, "\n".join(f"{k}: {values}" for k in keys), name="grid.yaml")
    status, _, err = cli(capsys, "sweep", str(grid), "--dry-run")
    assert status == 2 and "the sweep has 10,000,000,000 runs, more than max_runs (100,000)" in err
    trials = make_sweep(tmp_path, "params.a.init: {uniform: [0, 1]}", "strategy: random\ntrials: 1000000000\n",
                        name="random.yaml")
    status, _, err = cli(capsys, "sweep", str(trials), "--dry-run")
    assert status == 2 and "1,000,000,000 runs" in err and "max_runs" in err


def test_max_runs_is_overridable(tmp_path, capsys):
    path = make_sweep(tmp_path, "optimizer.max_steps: [10, 20, 30]", "max_runs: 2\n")
    assert cli(capsys, "sweep", str(path), "--dry-run")[0] == 2
    path = make_sweep(tmp_path, "optimizer.max_steps: [10, 20, 30]", "max_runs: 3\n")
    status, text, _ = cli(capsys, "sweep", str(path), "--dry-run")
    assert status == 0 and text.splitlines()[0].startswith("t: 3 runs")


def test_a_100000_point_dry_run_lists_every_run_with_keys_equal_to_full_validation(tmp_path, capsys):
    from workbench.sweep.members import resolve_member
    from workbench.sweep.plan import plan_sweep

    space = (f"params.a.init: {list(range(100))}\nparams.b.init: {[v / 10 for v in range(1, 101)]}\n"
             f"params.c.init: {list(range(10))}")
    path = make_sweep(tmp_path, space)
    status, text, _ = cli(capsys, "sweep", str(path), "--dry-run")
    lines = text.splitlines()
    assert status == 0 and lines[0].startswith("t: 100000 runs") and len(lines) == 100001
    plan = plan_sweep(path)
    for member in plan.members[::9973]:           # beyond the first few hundred, keys come from the fast path
        assert resolve_member(member.base, member.overrides, check=True).key == member.key


def test_a_member_over_its_time_or_memory_limit_fails_alone_with_the_reason(tmp_path, capsys, markers):
    path = make_sweep(tmp_path, "optimizer.max_steps: [10, 98, 99, 20]", "timeout: 2\nmax_memory: 1GB\n")
    status, _, err = sweep(capsys, path, runner="sweep_runners:hungry")
    assert status == 1, err
    rows = {r["overrides"]["optimizer.max_steps"]: r for r in store_rows(tmp_path / "out").values()}
    assert rows[98]["status"] == "failed" and rows[98]["error"] == "stopped at the time limit (timeout 2 s)"
    assert rows[99]["status"] == "failed" and rows[99]["error"] == "ran out of memory (max_memory 1 GB)"
    assert rows[10]["status"] == rows[20]["status"] == "done"


def test_bad_limits_in_a_sweep_file_exit_2(tmp_path, capsys):
    path = make_sweep(tmp_path, "optimizer.max_steps: [10]", "timeout: -1\n")
    status, _, err = cli(capsys, "sweep", str(path), "--dry-run")
    assert status == 2 and "timeout: expected a positive number of seconds" in err


def test_a_full_disk_mid_sweep_exits_74_and_keeps_the_store(tmp_path, capsys, markers, monkeypatch):
    from workbench.sweep import orchestrator

    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1, 1.0]")

    def full_disk(out_dir, key, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir / "runs" / key / "config.yaml"))

    monkeypatch.setattr(orchestrator, "write_run_dir", full_disk)
    status, _, err = sweep(capsys, path)
    assert status == 74
    assert err.startswith("error: cannot write ") and err.strip().endswith("No space left on device")
    assert len(err.strip().splitlines()) == 1
    rows = store_rows(tmp_path / "out")
    assert len(rows) == 3 and "done" not in {r["status"] for r in rows.values()}
    monkeypatch.undo()
    assert sweep(capsys, path)[0] == 0


def test_an_unwritable_store_mid_sweep_exits_74(tmp_path, capsys, markers, monkeypatch):
    from workbench.sweep.store import RunStore

    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]")

    def readonly(self, key, fin):
        raise self.failure(sqlite3.OperationalError("attempt to write a readonly database"))

    monkeypatch.setattr(RunStore, "mark_finished", readonly)
    status, _, err = sweep(capsys, path)
    assert status == 74 and "cannot write the run store" in err and "readonly" in err


def test_the_systemd_unit_does_not_treat_74_as_success():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "sweeps.md").read_text()
    success = [line for line in docs.splitlines() if line.startswith("SuccessExitStatus=")]
    assert success and all("74" not in line.split("=", 1)[1].split() for line in success)
    assert "74" in docs and "disk full" in docs


def test_a_sweep_folder_whose_store_was_moved_away_points_to_repair(tmp_path, capsys, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]")
    out = tmp_path / "out"
    assert sweep(capsys, path)[0] == 0
    for name in ("runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    status, _, err = sweep(capsys, path, "--restart")
    assert status == 2 and f"workbench runs --repair {out}" in err
    assert len(list((out / "runs").iterdir())) == 2
    assert cli(capsys, "runs", "--repair", str(out))[0] == 0
    assert sweep(capsys, path)[0] == 0 and sum(1 for _ in markers.iterdir()) == 2
