"""Running sweeps in-process on local workers: failures, resume, restart, worker death, BLAS
threads, outputs.

The runs use stand-in runners (``tests/sweep_runners.py``) whose loss is known from the overrides,
so each test knows the right ranking; the configs and data are real and are validated as usual.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from sweep_runners import executions, make_sweep, markers, quiet_run, score, store_rows  # noqa: F401 (fixture)

def test_failed_runs_are_recorded_the_others_finish_and_the_status_is_1(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.max_steps: [100, 13, 17]\noptimizer.lr: [0.01, 0.1]")
    report = quiet_run(path)
    assert report.exit_status == 1
    assert report.counts == {"pending": 0, "running": 0, "done": 2, "failed": 4}
    rows = store_rows(tmp_path / "out").values()
    errors = sorted({r["error"] for r in rows if r["status"] == "failed"})
    assert errors == ["ZeroDivisionError: float division by zero",
                      "the fit diverged at step 13: the loss became NaN"]
    diverged = next(r for r in rows if r["overrides"]["optimizer.max_steps"] == 13)
    assert diverged["metrics"]["loss"] == pytest.approx(score(diverged["overrides"]))   # kept from result.json
    crashed = next(k for k, r in store_rows(tmp_path / "out").items() if r["overrides"]["optimizer.max_steps"] == 17)
    assert "Traceback" in (tmp_path / "out" / "runs" / crashed / "error.txt").read_text()
    assert report.best.overrides == {"optimizer.max_steps": 100, "optimizer.lr": 0.01}


def test_rerun_retries_only_failed_runs_and_never_repeats_finished_ones(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.max_steps: [100, 13]\noptimizer.lr: [0.01, 0.1, 1.0]")
    first = quiet_run(path)
    assert first.counts["done"] == 3 and first.counts["failed"] == 3
    assert set(executions(markers).values()) == {1}
    second = quiet_run(path)
    assert second.ran == 3 and second.exit_status == 1
    runs = store_rows(tmp_path / "out")
    counts = executions(markers)
    for key, row in runs.items():
        assert counts[key] == (1 if row["status"] == "done" else 2), row
        assert row["attempts"] == counts[key]


def test_completed_folder_of_a_run_left_running_is_adopted_not_repeated(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1, 1.0]")
    quiet_run(path)
    out = tmp_path / "out"
    key = next(iter(store_rows(out)))
    # as if the coordinator died between writing the folder and recording it
    with sqlite3.connect(out / "runs.sqlite") as conn:
        conn.execute("UPDATE runs SET status = 'running', metrics = NULL WHERE key = ?", (key,))
    report = quiet_run(path)
    assert (report.ran, report.adopted, report.recovered) == (0, 1, 1)
    assert set(executions(markers).values()) == {1}
    assert store_rows(out)[key]["status"] == "done" and store_rows(out)[key]["metrics"]["loss"] is not None


def test_restart_forgets_every_run(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 0.1]")
    quiet_run(path)
    report = quiet_run(path, restart=True)
    assert report.ran == 2
    assert set(executions(markers).values()) == {2}
    assert {r["attempts"] for r in store_rows(tmp_path / "out").values()} == {1}


def test_a_worker_that_dies_fails_only_its_own_run_and_the_sweep_goes_on(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.max_steps: [100, 666, 200, 300, 400]")
    report = quiet_run(path, workers=2)
    assert report.counts["done"] == 4 and report.counts["failed"] == 1
    rows = store_rows(tmp_path / "out")
    (failed,) = [r for r in rows.values() if r["status"] == "failed"]
    assert failed["overrides"] == {"optimizer.max_steps": 666}
    assert failed["error"].startswith("the worker running it died: BrokenProcessPool")
    counts = executions(markers)
    for key, row in rows.items():      # runs caught in the crash were run again, alone, once
        assert 1 <= counts[key] <= row["attempts"] <= 2
    assert failed["attempts"] == 2


def test_workers_run_with_single_threaded_blas_and_the_parent_env_is_restored(tmp_path, markers, monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    path = make_sweep(tmp_path, "optimizer.lr: [0.01]")
    quiet_run(path, workers=1)
    (key,) = store_rows(tmp_path / "out")
    result = json.loads((tmp_path / "out" / "runs" / key / "result.json").read_text())
    assert result["blas_threads"] == "1"
    assert "OPENBLAS_NUM_THREADS" not in os.environ


def test_outputs_rank_runs_best_first_and_summarise(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [1.0, 0.01, 0.1, 0.001]", "metric: rmse\n")
    with open(tmp_path / "decay.yaml", "a") as config:
        config.write("output:\n  dir: fits/decay\n  formats: [html]\n")
    report = quiet_run(path)
    out = tmp_path / "out"
    lines = (out / "leaderboard.csv").read_text().splitlines()
    header = lines[0].split(",")
    lrs = [float(line.split(",")[header.index("optimizer.lr")]) for line in lines[1:]]
    assert lrs == sorted(lrs, key=lambda lr: score({"optimizer.lr": lr}))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"pending": 0, "running": 0, "done": 4, "failed": 0}
    assert summary["state"] == "finished" and summary["exit_status"] == 0
    assert summary["best"]["key"] == report.best.key and summary["best"]["overrides"] == {"optimizer.lr": 0.01}
    assert summary["metric"] == "rmse"
    best = (out / "best.yaml").read_text()
    assert "lr: 0.01" in best and f"path: {tmp_path / 'decay.csv'}" in best
    assert "formats:" in best and "dir:" not in best     # a refit writes where its user asks
    html = (out / "sweep.html").read_text()
    assert html.count("data:image/png;base64,") == 2          # rmse against lr, convergence
    assert "http://" not in html and "https://" not in html and report.best.key in html
    assert not list(out.glob(".*.tmp")) and not list((out / "runs").glob(".*"))


def test_a_folder_of_configs_combined_with_a_space_runs_every_config_at_every_point(tmp_path, markers):
    path = make_sweep(tmp_path, "optimizer.lr: [0.01, 1.0]")
    (tmp_path / "more").mkdir()
    for name in ("b", "a"):
        text = (tmp_path / "decay.yaml").read_text().replace("name: decay", f"name: decay-{name}")
        (tmp_path / "more" / f"{name}.yaml").write_text(text.replace("path: decay.csv", "path: ../decay.csv"))
    path.write_text(path.read_text().replace("base: decay.yaml", "configs: [more/*.yaml]"))
    report = quiet_run(path)
    assert report.counts["done"] == 4 and len(executions(markers)) == 4
    header, *rows = [line.split(",") for line in (tmp_path / "out" / "leaderboard.csv").read_text().splitlines()]
    assert header[:5] == ["rank", "key", "status", "config", "optimizer.lr"]
    assert sorted((Path(r[3]).name, r[4]) for r in rows) == [("a.yaml", "0.01"), ("a.yaml", "1.0"),
                                                             ("b.yaml", "0.01"), ("b.yaml", "1.0")]
    assert {r[4] for r in rows[:2]} == {"0.01"}


def test_the_shipped_example_sweep_validates_against_the_shipped_config(capsys):
    from workbench.cli import main

    example = Path(__file__).resolve().parent.parent / "configs" / "sweep_example.yaml"
    with pytest.raises(SystemExit) as exited:
        main(["sweep", str(example), "--dry-run"])
    lines = capsys.readouterr().out.splitlines()
    # lr means nothing to lbfgs and lm: their 2 x 3 points each are 2 runs, not 6 identical ones.
    assert exited.value.code == 0 and lines[0].startswith("decay-tuning: 10 runs (grid; ranked by loss, min)")
    runs = [line for line in lines[1:] if not line.startswith("note:")]
    assert len({line.split()[0] for line in runs}) == 10
    assert not [line for line in runs if "optimizer.lr" in line and '"adam"' not in line]
    assert "note: optimizer.lr is left out where optimizer.name is lm (only used when optimizer.name is gd, " \
           "momentum, nesterov, adagrad, rmsprop, adam or adamw)" in lines
