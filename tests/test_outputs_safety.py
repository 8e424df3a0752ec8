"""A fit's outputs are one set that replaces the previous one only when complete, and only in a
folder that holds a previous fit's outputs (issue 16 items 1 and 5, issue 9's full disk)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from cli_helpers import run_cli, write_decay_project

@pytest.fixture
def folder(tmp_path) -> Path:
    return write_decay_project(tmp_path)


def fit(folder: Path, out: str = "out", *extra: str):
    return run_cli("fit", "config.yaml", "--out", out, "--no-reports", *extra, cwd=folder)


def test_a_fit_refuses_a_folder_holding_files_it_did_not_write_and_touches_nothing(folder):
    proj = folder / "proj"
    (proj / "runs" / "exp1").mkdir(parents=True)
    (proj / "runs" / "exp1" / "events.out").write_text("training log")
    (proj / "summary.json").write_text('{"mine": true}')
    proc = fit(folder, "proj")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: proj: holds 'runs', which no fit wrote")
    assert (proj / "runs" / "exp1" / "events.out").read_text() == "training log"
    assert (proj / "summary.json").read_text() == '{"mine": true}'
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "decay.csv", "proj"]


def test_a_refit_replaces_the_whole_set_and_leaves_no_temporary_folder(folder):
    assert fit(folder).returncode == 0
    (folder / "out" / "fit.png").write_bytes(b"an old plot")          # named like an output: ours
    assert fit(folder).returncode == 0
    out = folder / "out"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "workbench fit outputs"
    assert sorted(p.name for p in out.iterdir()) == sorted(manifest["files"])
    assert not (out / "fit.png").exists()                              # nothing of the old set is mixed in
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_a_folder_of_outputs_from_before_manifests_is_recognised(folder):
    out = folder / "out"
    out.mkdir()
    for name in ("result.json", "params.csv", "report.html", "results.xlsx", "gradcheck.json",
                 ".results.xlsx.k2j4l.tmp"):
        (out / name).write_text("old")
    assert fit(folder).returncode == 0
    assert not (out / "report.html").exists() and not (out / ".results.xlsx.k2j4l.tmp").exists()
    assert json.loads((out / "result.json").read_text())["converged"] is True


def _full_disk_at(monkeypatch, name: str) -> None:
    """Writing ``name`` fails inside ``workbench.atomic`` as a full disk would."""
    from workbench.atomic import atomic_path
    from workbench.pipeline import outputs

    real_write_text = outputs.write_text

    def write_text(target, text):
        if Path(target).name != name:
            return real_write_text(target, text)
        with atomic_path(target) as tmp:
            tmp.write_text(text[: len(text) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    monkeypatch.setattr(outputs, "write_text", write_text)


def test_disk_full_exits_74_naming_the_file_keeps_the_previous_set_and_removes_the_partial_one(folder, monkeypatch):
    assert fit(folder).returncode == 0
    before = {p.name: p.read_bytes() for p in (folder / "out").iterdir()}
    _full_disk_at(monkeypatch, "history.csv")
    proc = fit(folder, "out", "--set", "params.a=2.0")
    assert proc.returncode == 74
    line = proc.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line == ("error: cannot write out/history.csv: No space left on device; "
                    "the previous outputs in out are unchanged")
    assert {p.name: p.read_bytes() for p in (folder / "out").iterdir()} == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "decay.csv", "out"]   # no partial set


def test_disk_full_on_a_first_fit_says_nothing_was_written(folder, monkeypatch):
    _full_disk_at(monkeypatch, "params.csv")
    proc = fit(folder, "new")
    assert proc.returncode == 74
    assert proc.stderr.strip() == "error: cannot write new/params.csv: No space left on device; nothing was written"
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "decay.csv"]


def test_only_leftovers_of_dead_processes_are_removed(folder):
    dead = folder / ".out.wb-new-999999999-abc123"
    alive = folder / f".out.wb-old-{os.getppid()}-def456"                # the parent process: alive
    stranger = folder / ".out.backup"
    for path in (dead, alive, stranger):
        path.mkdir()
    assert fit(folder).returncode == 0
    assert not dead.exists() and alive.exists() and stranger.exists()


def test_reports_are_rendered_inside_the_staging_folder(folder, monkeypatch):
    from workbench.pipeline import outputs

    seen = {}
    real_write_tables = outputs.write_tables

    def spy(outcome):
        seen["out_dir"], seen["destination"] = outcome.out_dir, outcome.destination
        return real_write_tables(outcome)

    monkeypatch.setattr(outputs, "write_tables", spy)
    assert fit(folder).returncode == 0
    assert seen["destination"] == Path("out")
    assert seen["out_dir"].name.startswith(".out.wb-new-") and seen["out_dir"].parent == seen["destination"].parent


def test_a_fit_never_takes_the_current_folder_or_one_holding_it_as_its_output(folder):
    for out in (".", ".."):
        proc = fit(folder, out)
        assert proc.returncode == 2 and "a folder of its own" in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "decay.csv"]
