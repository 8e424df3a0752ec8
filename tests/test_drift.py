"""Drift against the refit history: three nights on synthetic data, and the arithmetic itself.

The nights fit ``y ~ a * exp(-b * x) + c`` to fresh noisy data each time: steady (b = 0.30),
a real change (b = 0.45), steady again (b = 0.45, new noise). The second night must exit 5 and
say that b moved; the third is compared with the second and is quiet again.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import run_cli, write_config
from workbench.errors import DriftError
from workbench.history import DriftSettings, FitRecorder, FitRow, read_rows, summary_lines
from workbench.history.drift import compare, describe, trajectories

SETTINGS = DriftSettings(threshold=3.0, metric_tolerance=0.5, relative_tolerance=0.1)


def _night(folder, b: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 10, 60)
    y = 2.0 * np.exp(-b * x) + 0.5 + rng.normal(0, 0.03, x.size)
    (folder / "sales.csv").write_text("x,y\n" + "".join(f"{float(u)!r},{float(v)!r}\n" for u, v in zip(x, y)))


@pytest.fixture
def nightly(tmp_path):
    write_config(tmp_path, """
        name: nightly
        data: sales.csv
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: 0.2, c: 0.0}
        output: {dir: out, history: hist/refits.sqlite, plots: false}
    """)
    return tmp_path


def _fit(folder, *extra):
    return run_cli("fit", str(folder / "config.yaml"), "--no-reports", *extra, cwd=folder)


def _result(folder) -> dict:
    return json.loads((folder / "out" / "result.json").read_text())


def test_three_nights_steady_change_steady_exit_0_5_0(nightly):
    statuses, results, outputs = [], [], []
    for b, seed in ((0.30, 1), (0.45, 2), (0.45, 3)):
        _night(nightly, b, seed)
        proc = _fit(nightly)
        statuses.append(proc.returncode)
        outputs.append(proc.stdout + proc.stderr)
        results.append(_result(nightly))
    assert statuses == [0, 5, 0], outputs
    first, change, steady = results
    assert first["drift"] == [] and first["drift_check"]["compared_with"] is None
    moved = {entry["param"]: entry for entry in change["drift"] if "param" in entry}
    assert "b" in moved
    entry = moved["b"]
    assert entry["previous"] == pytest.approx(first["params"]["b"])
    assert entry["now"] == pytest.approx(change["params"]["b"])
    se = np.hypot(first["stderr"]["b"], change["stderr"]["b"])
    assert entry["z"] == pytest.approx((change["params"]["b"] - first["params"]["b"]) / se)
    assert abs(entry["z"]) > 3 and entry["previous_time"] == change["drift_check"]["compared_with"]
    assert steady["drift"] == []
    assert [p[1] for p in steady["drift_history"]["b"]] == pytest.approx([r["params"]["b"] for r in results])
    # The console says which parameter moved, from what to what; the error line names the history.
    assert f"b moved from {first['params']['b']:.6g}" in outputs[1]
    assert f"to {change['params']['b']:.6g}" in outputs[1]
    assert "refits.sqlite" in outputs[1]
    rows = read_rows(nightly / "hist" / "refits.sqlite")
    assert [row.drift for row in rows] == [False, True, False]
    assert rows[1].drift_detail == change["drift"]


def test_drift_exit_comes_after_every_output_is_written(nightly):
    _night(nightly, 0.30, 1)
    assert _fit(nightly).returncode == 0
    _night(nightly, 0.45, 2)
    proc = _fit(nightly)
    assert proc.returncode == 5
    result = _result(nightly)
    assert result["drift"] and (nightly / "out" / "params.csv").is_file()
    assert json.loads((nightly / "out" / "manifest.json").read_text())["status"] == result["status"]
    assert len(read_rows(nightly / "hist" / "refits.sqlite")) == 2


def test_threshold_from_the_config_decides(nightly):
    _night(nightly, 0.30, 1)
    assert _fit(nightly).returncode == 0
    _night(nightly, 0.45, 2)
    proc = _fit(nightly, "--set", "drift.threshold=1e6", "--set", "drift.metric_tolerance=100")
    assert proc.returncode == 0, proc.stderr
    assert _result(nightly)["drift"] == [] and _result(nightly)["drift_check"]["threshold"] == 1e6


def test_no_history_means_no_drift_fields(nightly):
    _night(nightly, 0.30, 1)
    proc = _fit(nightly, "--set", "output.history=null")
    assert proc.returncode == 0, proc.stderr
    assert "drift" not in _result(nightly) and "drift_history" not in _result(nightly)
    assert not (nightly / "hist").exists()


def test_history_flag_wins_over_the_config(nightly):
    _night(nightly, 0.30, 1)
    assert _fit(nightly, "--history", "elsewhere.sqlite").returncode == 0
    assert len(read_rows(nightly / "elsewhere.sqlite")) == 1 and not (nightly / "hist").exists()


def test_another_config_name_is_not_compared(nightly):
    _night(nightly, 0.30, 1)
    assert _fit(nightly).returncode == 0
    _night(nightly, 0.45, 2)
    assert _fit(nightly, "--set", "name=other").returncode == 0
    assert _result(nightly)["drift_check"]["compared_with"] is None


# --- the arithmetic ------------------------------------------------------------------------------

def _row(params, stderr, metrics=None, converged=True, time="2024-05-01T02:30:00+00:00") -> FitRow:
    return FitRow(time=time, name="m", params=params, stderr=stderr, metrics=metrics or {"rmse": 1.0},
                  converged=converged, status="converged" if converged else "max_steps", workbench_version="t")


def _result_of(params, stderr, metrics=None, converged=True) -> dict:
    return {"name": "m", "params": params, "stderr": stderr, "metrics": metrics or {"rmse": 1.0},
            "converged": converged, "status": "converged", "workbench_version": "t", "loss": 1.0}


def test_z_uses_both_standard_errors():
    previous = _row({"b": -1.31}, {"b": 0.03})
    [entry] = compare(previous, _result_of({"b": -1.52}, {"b": 0.04}), SETTINGS)
    assert entry["z"] == pytest.approx(-0.21 / 0.05) and entry["test"] == "z"
    assert describe(entry) == "b moved from -1.31 ± 0.03 to -1.52 ± 0.04 (z = -4.20, threshold 3)"
    assert compare(previous, _result_of({"b": -1.44}, {"b": 0.04}), SETTINGS) == []     # z = -2.6


def test_parameter_without_standard_error_uses_the_relative_tolerance_and_says_so():
    previous = _row({"a": 10.0}, {"a": None})
    [entry] = compare(previous, _result_of({"a": 12.0}, {"a": 0.5}), SETTINGS)
    assert entry["test"] == "relative" and entry["z"] is None
    assert entry["relative_change"] == pytest.approx(2 / 12)
    assert "no standard error" in describe(entry) and "relative tolerance 10%" in describe(entry)
    assert compare(previous, _result_of({"a": 10.5}, {"a": None}), SETTINGS) == []


def test_worse_metric_is_drift_beyond_its_relative_tolerance():
    previous = _row({"a": 1.0}, {"a": 0.1}, metrics={"rmse": 2.0})
    [entry] = compare(previous, _result_of({"a": 1.0}, {"a": 0.1}, {"rmse": 3.2}), SETTINGS)
    assert (entry["metric"], entry["relative_change"]) == ("rmse", pytest.approx(0.6))
    assert describe(entry) == "rmse rose from 2 to 3.2 (+60%, tolerance 50%)"
    assert compare(previous, _result_of({"a": 1.0}, {"a": 0.1}, {"rmse": 2.9}), SETTINGS) == []
    assert compare(previous, _result_of({"a": 1.0}, {"a": 0.1}, {"rmse": 0.5}), SETTINGS) == []   # better


def test_binary_target_judges_the_log_loss():
    previous = _row({"a": 1.0}, {"a": 0.1}, metrics={"rmse": 0.4, "log_loss": 0.3})
    now = _result_of({"a": 1.0}, {"a": 0.1}, {"rmse": 0.4, "log_loss": 0.6})
    assert [e["metric"] for e in compare(previous, now, SETTINGS)] == ["log_loss"]


def test_network_weights_are_not_compared():
    previous = _row({"W1[0,0]": 1.0, "b2[0]": 0.0}, {"W1[0,0]": None, "b2[0]": None})
    assert compare(previous, _result_of({"W1[0,0]": -1.0, "b2[0]": 5.0}, {"W1[0,0]": None, "b2[0]": None}),
                   SETTINGS) == []
    assert trajectories([previous], _result_of({"W1[0,0]": 1.0}, {"W1[0,0]": None}), "t") == {}


def test_baseline_is_the_last_converged_fit(tmp_path):
    from workbench.history.store import append

    path = tmp_path / "h.sqlite"
    append(path, _row({"b": 1.0}, {"b": 0.01}, time="2024-05-01T00:00:00+00:00"))
    append(path, _row({"b": 9.0}, {"b": 0.01}, converged=False, time="2024-05-02T00:00:00+00:00"))
    recorder = FitRecorder(path, SETTINGS)
    result = _result_of({"b": 1.01}, {"b": 0.01})
    recorder.annotate(result)
    assert result["drift"] == [] and result["drift_check"]["compared_with"] == "2024-05-01T00:00:00+00:00"
    assert [p[0] for p in result["drift_history"]["b"]][:1] == ["2024-05-01T00:00:00+00:00"]
    assert len(result["drift_history"]["b"]) == 2      # the unconverged fit is no point of the trajectory


def test_a_fit_that_did_not_converge_is_not_compared(tmp_path):
    from workbench.history.store import append

    path = tmp_path / "h.sqlite"
    append(path, _row({"b": 1.0}, {"b": 0.01}))
    recorder = FitRecorder(path, SETTINGS)
    result = _result_of({"b": 5.0}, {"b": 0.01}, converged=False)
    recorder.annotate(result)
    assert result["drift"] == [] and result["drift_check"]["compared_with"] is None
    assert "did not converge" in summary_lines(result)[0]
    recorder.raise_for_drift(result)      # nothing drifted: no error


def test_raise_for_drift_names_what_moved(tmp_path):
    from workbench.history.store import append

    path = tmp_path / "h.sqlite"
    append(path, _row({"b": 1.0}, {"b": 0.01}))
    recorder = FitRecorder(path, SETTINGS)
    result = _result_of({"b": 2.0}, {"b": 0.01})
    recorder.annotate(result)
    with pytest.raises(DriftError, match=r"b moved from 1 ± 0.01 to 2 ± 0.01") as caught:
        recorder.raise_for_drift(result, outcome="the outcome")
    assert caught.value.exit_code == 5 and caught.value.outcome == "the outcome"
    assert summary_lines(result)[0].startswith("DRIFT against the fit of 2024-05-01T02:30:00+00:00")
