"""QA's operator and file-safety findings (issues 16, 9, 13): one exit status (74) and one line
naming the file when the machine cannot take a command's outputs, a history checked before the
fit, truthful messages about what a failed write left, sweep restarts that keep the user's files,
time and memory limits named as such, and the sweep example's runs that differ in fact."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import DECAY_CONFIG, run_cli, write_decay_project

CONFIG = "    name: decay" + DECAY_CONFIG


@pytest.fixture
def folder(tmp_path) -> Path:
    return write_decay_project(tmp_path, {"config.yaml": CONFIG})


class _FullDisk:
    """Stands in for ``tempfile`` inside ``workbench.atomic``: every new file meets a full disk."""

    @staticmethod
    def mkstemp(prefix="", suffix="", dir=None):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(dir) / f"{prefix}x1y2{suffix}"))


@pytest.fixture
def full_disk(monkeypatch):
    import workbench.atomic

    monkeypatch.setattr(workbench.atomic, "tempfile", _FullDisk)


def _fitted(folder: Path) -> Path:
    assert run_cli("fit", "config.yaml", "--out", "fitted", "--no-reports", "-q", cwd=folder).returncode == 0
    return folder / "fitted"


def _sweep_file(folder: Path) -> Path:
    path = folder / "sweep.yaml"
    path.write_text("name: t\nbase: config.yaml\nspace: {optimizer.max_steps: [50, 60]}\n")
    return path


# Each command that writes files, with (the end of) the file it names when the disk is full.
COMMANDS = {
    "fit": (lambda f: ("fit", "config.yaml", "--out", "out", "--no-reports"), "out/result.json"),
    "predict": (lambda f: ("predict", str(_fitted(f)), "decay.csv", "--out", "pred.csv"), "pred.csv"),
    "history --html": (lambda f: ("history", str(_recorded_history(f)), "--html", "h.html"), "h.html"),
    "init": (lambda f: ("init", "decay.csv", "--target", "y", "--out", "new.yaml"), "new.yaml"),
    "check": (lambda f: ("check", "config.yaml", "--out", "chk", "-q"), "chk/"),
    "graph": (lambda f: ("graph", "config.yaml", "--format", "dot", "--out", "gr"), "gr/graph-init.dot"),
    "sweep": (lambda f: ("sweep", str(_sweep_file(f)), "--out", "sw", "-q", "--workers", "1"), "sw/summary.json"),
}


def _recorded_history(folder: Path) -> Path:
    history = folder / "h.sqlite"
    assert run_cli("fit", "config.yaml", "--out", "hist-fit", "--no-reports", "-q", "--history", str(history),
                   cwd=folder).returncode == 0
    return history


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_full_disk_is_exit_74_with_one_line_naming_the_file_for_every_command(folder, monkeypatch, name):
    import workbench.atomic

    make_args, named = COMMANDS[name]
    args = make_args(folder)                        # preparation writes for real
    monkeypatch.setattr(workbench.atomic, "tempfile", _FullDisk)
    proc = run_cli(*args, cwd=folder)
    assert proc.returncode == 74, proc.stderr
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line and "internal error" not in line
    assert line.startswith("error: cannot write ") and named in line.split(": ")[1], line
    assert "No space left on device" in line


def test_a_fit_into_a_location_that_cannot_be_created_is_exit_74(folder):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    proc = run_cli("fit", "config.yaml", "--out", "/proc/wb-test-out", "--no-reports", cwd=folder)
    assert proc.returncode == 74
    assert proc.stderr.strip().startswith("error: cannot write /proc/wb-test-out")


def test_a_fit_on_a_full_disk_with_no_earlier_outputs_says_nothing_was_written_and_leaves_nothing(folder, full_disk):
    proc = run_cli("fit", "config.yaml", "--out", "first", "--no-reports", cwd=folder)
    assert proc.returncode == 74
    assert proc.stderr.strip() == ("error: cannot write first/result.json: No space left on device; "
                                   "nothing was written")
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "decay.csv"]


def test_bad_input_stays_exit_2_when_a_file_stands_where_the_output_folder_goes(folder):
    (folder / "blocker").write_text("a file")
    proc = run_cli("fit", "config.yaml", "--out", "blocker/out", "--no-reports", cwd=folder)
    assert proc.returncode == 2


def test_fit_history_that_cannot_be_created_is_exit_74_before_the_fit_runs(folder):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc")
    proc = run_cli("fit", "config.yaml", "--out", "out", "--no-reports", "--history", "/proc/wb-h.sqlite",
                   cwd=folder)
    assert proc.returncode == 74
    assert proc.stderr.strip().startswith("error: cannot write /proc/wb-h.sqlite: ")
    assert not (folder / "out").exists()                # the fit never ran


def test_fit_history_on_a_full_disk_is_exit_74_before_the_fit_runs(folder, monkeypatch):
    import sqlite3

    import workbench.history.store as store

    def connect(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store.sqlite3, "connect", connect)
    proc = run_cli("fit", "config.yaml", "--out", "out", "--no-reports", "--history", "h.sqlite", cwd=folder)
    assert proc.returncode == 74
    assert "cannot write h.sqlite" in proc.stderr and "database or disk is full" in proc.stderr
    assert not (folder / "out").exists()


def test_a_new_history_is_created_before_the_fit_and_filled_after(folder):
    from workbench.history import read_rows

    proc = run_cli("fit", "config.yaml", "--out", "out", "--no-reports", "-q", "--history", "new/h.sqlite",
                   cwd=folder)
    assert proc.returncode == 0
    assert [row.name for row in read_rows(folder / "new" / "h.sqlite")] == ["decay"]


def _can_mount_tmpfs() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="mounting a small tmpfs needs root on Linux")
def test_a_real_full_disk_fit_is_exit_74_and_leaves_the_disk_as_it_was(folder):
    tiny = folder / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(tiny)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        config = folder / "config.yaml"
        config.write_text(config.read_text().replace("plots: false", "plots: true"))
        proc = run_cli("fit", "config.yaml", "--out", "tiny/eu", cwd=folder, process=True)
        assert proc.returncode == 74, proc.stderr
        line = proc.stderr.strip()
        assert line.startswith("error: cannot write tiny/eu/") and line.endswith(
            "No space left on device; nothing was written"), line
        assert list(tiny.iterdir()) == []               # the partial set is gone: the disk is not fuller
    finally:
        subprocess.run(["umount", str(tiny)], check=False)


def _slow_task(folder: Path, timeout: float, key: str = "k1"):
    import yaml

    from workbench.pipeline.limits import RunLimits
    from workbench.sweep.worker import RunTask

    raw = yaml.safe_load((folder / "config.yaml").read_text())
    raw["data"]["path"] = str(folder / "decay.csv")
    raw["optimizer"] = {"name": "gd", "lr": 1e-9, "max_steps": 100_000_000}
    partial = folder / "runs" / f".{key}.partial"
    return RunTask(key=key, raw=raw, base_dir=str(folder), source="config.yaml [slow]", name="decay",
                   partial_dir=str(partial), limits=RunLimits(timeout=timeout))


def test_a_sweep_run_stopped_by_its_timeout_says_so_and_names_the_kept_folder(folder):
    from workbench.sweep.worker import execute

    report = execute(_slow_task(folder, 1.0))
    assert report["status"] == "failed"
    assert report["error"] == "stopped at the time limit (timeout 1 s); its last parameters are in runs/k1/result.json"
    result = json.loads((folder / "runs" / ".k1.partial" / "result.json").read_text())
    assert result["status"] == "timeout" and result["message"].startswith("stopped at the time limit after ")


def test_a_sweep_time_limit_during_the_fits_setup_is_no_internal_error(folder, monkeypatch):
    import signal

    from workbench.pipeline import fit as fit_module
    from workbench.sweep.worker import execute

    def assemble_result(*args, **kwargs):        # the limit's alarm goes off while the result is assembled
        signal.raise_signal(signal.SIGALRM)

    monkeypatch.setattr(fit_module, "assemble_result", assemble_result)
    task = _slow_task(folder, 5.0, key="k2")
    task.raw["optimizer"]["max_steps"] = 3
    report = execute(task)
    assert report["error"] == "stopped at the time limit (timeout 5 s)"
    assert not (folder / "runs" / ".k2.partial" / "error.txt").exists()


def test_describing_no_timeout_is_no_error():
    from workbench.pipeline.limits import RunLimits

    assert RunLimits().describe_timeout() == "no timeout"
    assert RunLimits(timeout=3).describe_timeout() == "timeout 3 s"


def _sweep_main(capsys, *args: str) -> tuple[int, str, str]:
    from workbench.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_sweep_restart_keeps_a_users_file_in_a_run_folder_and_names_the_folder(tmp_path, capsys, monkeypatch):
    from sweep_runners import MARKERS_ENV, make_sweep

    (tmp_path / "markers").mkdir()
    monkeypatch.setenv(MARKERS_ENV, str(tmp_path / "markers"))
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]")
    args = ("sweep", str(path), "--workers", "1", "--runner", "sweep_runners:scored")
    assert _sweep_main(capsys, *args)[0] == 0
    runs = tmp_path / "out" / "runs"
    kept, other = sorted(runs.iterdir())
    (kept / "my_notes.txt").write_text("mine")
    status, out, _ = _sweep_main(capsys, *args, "--restart")
    assert status == 0
    assert (kept / "my_notes.txt").read_text() == "mine"        # kept through the restart and the rerun
    assert (kept / "run.json").is_file() and (other / "run.json").is_file()
    assert (f"note: runs/{kept.name} was kept: it holds files the sweep did not write (my_notes.txt)" in out)
    assert f"runs/{other.name} was kept" not in out


def test_sweep_restart_deletes_only_the_files_the_run_record_lists(tmp_path):
    from workbench.sweep.folder import forget_runs
    from workbench.sweep.rundir import write_run_dir

    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.sqlite").write_bytes(b"")          # an empty store: a sweep's folder
    report = {"status": "done", "started_at": "t0", "finished_at": "t1", "host": "h", "pid": 1, "elapsed_s": 0.1,
              "files": {"result.json": b"{}", "plots/fit.png": b"png"}}
    write_run_dir(out, "abc", report, "name: x\n", {})
    run = out / "runs" / "abc"
    assert json.loads((run / "run.json").read_text())["files"] == ["config.yaml", "plots/fit.png", "result.json",
                                                                   "run.json"]
    (run / "plots" / "mine.png").write_bytes(b"user")
    notes = forget_runs(out)
    assert sorted(p.relative_to(run).as_posix() for p in run.rglob("*")) == ["plots", "plots/mine.png"]
    assert notes == ["runs/abc was kept: it holds files the sweep did not write (plots/mine.png); "
                     "the sweep's own files in it were deleted"]
    (run / "plots" / "mine.png").unlink()
    (out / "runs.sqlite").write_bytes(b"")
    write_run_dir(out, "abc", report, "name: x\n", {})
    assert forget_runs(out) == [] and not (out / "runs").exists()


def noisy_death(task, out_dir: Path) -> dict:
    """A runner whose worker dies the way OpenBLAS kills one under a memory limit."""
    os.write(2, b"OpenBLAS error: Memory allocation still failed after 10 retries, giving up.\n")
    os._exit(134)


def test_a_worker_dying_under_a_memory_limit_is_out_of_memory_without_native_noise(tmp_path, capfd):
    from sweep_runners import make_sweep

    path = make_sweep(tmp_path, "optimizer.lr: [0.01]", "max_memory: 1GB\n")
    proc = run_cli("sweep", str(path), "--workers", "1", "--runner", "test_qa_operator:noisy_death", cwd=tmp_path)
    assert proc.returncode == 1
    captured = capfd.readouterr()
    assert "OpenBLAS" not in captured.err + proc.stderr
    from sweep_runners import store_rows

    (row,) = store_rows(tmp_path / "out").values()
    assert row["error"] == "ran out of memory (max_memory 1 GB): the worker running it died"


def test_a_memory_limit_below_what_numpy_and_pandas_take_is_warned_about(tmp_path):
    from sweep_runners import make_sweep

    from workbench.pipeline.limits import RunLimits, low_memory_warning

    assert low_memory_warning(RunLimits(max_memory=400 << 20)) is None
    assert low_memory_warning(RunLimits()) is None
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]", "max_memory: 50MB\n")
    proc = run_cli("sweep", str(path), "--runner", "sweep_runners:scored", "--workers", "1", cwd=tmp_path)
    assert proc.returncode == 0
    assert ("warning: sweep.yaml: max_memory 50 MB is below what loading numpy and pandas takes (about 300 MB of "
            "address space") in proc.stderr


def test_runs_after_repair_shows_the_sweeps_metric_column(tmp_path, capsys, monkeypatch):
    from sweep_runners import MARKERS_ENV, make_sweep

    (tmp_path / "markers").mkdir()
    monkeypatch.setenv(MARKERS_ENV, str(tmp_path / "markers"))
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]", "metric: rmse\n")
    assert _sweep_main(capsys, "sweep", str(path), "--workers", "1", "--runner", "sweep_runners:scored")[0] == 0
    out = tmp_path / "out"
    before = _sweep_main(capsys, "runs", str(out))[1]
    for name in ("runs.sqlite", "runs.sqlite-wal", "runs.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    (out / "runs.sqlite").write_bytes(b"garbage, not a database" * 20)
    assert _sweep_main(capsys, "runs", "--repair", str(out))[0] == 0
    status, after, _ = _sweep_main(capsys, "runs", str(out))
    assert status == 0
    header = after.splitlines()[0].split()
    assert header[:3] == ["key", "status", "rmse"] == before.splitlines()[0].split()[:3]
    assert sorted(line.split()[:3] for line in after.splitlines()[1:]) == sorted(line.split()[:3] for line in
                                                                                 before.splitlines()[1:])


def test_a_sweep_drops_optimizer_keys_the_chosen_optimizer_does_not_read(tmp_path):
    from sweep_runners import make_sweep

    from workbench.sweep.plan import plan_sweep

    path = make_sweep(tmp_path, "optimizer.name: [adam, lm]\noptimizer.lr: [0.01, 0.1]")
    plan = plan_sweep(path)
    assert sorted(tuple(sorted(m.overrides.items())) for m in plan.members) == [
        (("optimizer.lr", 0.01), ("optimizer.name", "adam")), (("optimizer.lr", 0.1), ("optimizer.name", "adam")),
        (("optimizer.name", "lm"),)]
    assert any(note.startswith("optimizer.lr is left out where optimizer.name is lm") for note in plan.expansion.notes)


def test_the_graph_picture_draws_japanese_names_with_the_cjk_font_and_no_glyph_warnings():
    import warnings

    from workbench.report.graph import DotGraph, draw_layered

    def picture(name: str) -> bytes:
        graph = DotGraph(nodes={"n1": f"{name} = array(60,)", "n2": f"coef_{name}"}, edges=[("n1", "n2")])
        return draw_layered(graph, "png")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sales, date = picture("売上"), picture("日付")
    assert not [w for w in caught if "Glyph" in str(w.message)]
    # Drawn with a font that lacks them, both names would be the same two empty boxes.
    assert sales != date
