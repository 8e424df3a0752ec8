"""The refit history file and ``workbench history``: appends that lose nothing when several
processes write at once, a corrupt or foreign file refused and left byte for byte as it was, and
the table, CSV, JSON and HTML views of the recorded fits."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from cli_helpers import ROOT, run_cli, write_config
from workbench.errors import InputError
from workbench.history import FitRow, check_history, read_rows, record_fit
from workbench.history.store import append


def _row(name="m", time="2024-05-01T02:30:00+00:00", **params) -> FitRow:
    return FitRow(time=time, name=name, params=params or {"a": 1.0}, stderr={k: 0.1 for k in params or {"a": 1}},
                  metrics={"n": 10, "r2": 0.9, "rmse": 0.5}, converged=True, status="converged",
                  workbench_version="t")


_WRITER = textwrap.dedent("""
    import sys
    from workbench.history import record_fit
    path, writer = sys.argv[1], int(sys.argv[2])
    for i in range(20):
        result = {"name": f"w{writer}", "params": {"a": float(i)}, "stderr": {"a": 0.1},
                  "metrics": {"rmse": 1.0}, "converged": True, "status": "converged",
                  "workbench_version": "t", "data": {"sha256": f"{writer}-{i}"}}
        record_fit(path, result, source="fit")
""")


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "new" / "history.sqlite"            # created (with its folder) by the writers
    writers = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(w)], cwd=ROOT,
                                stderr=subprocess.PIPE, text=True) for w in range(4)]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0, 0], errors
    rows = read_rows(path)
    assert len(rows) == 80
    assert sorted((r.name, r.data_sha256) for r in rows) == sorted(
        (f"w{w}", f"{w}-{i}") for w in range(4) for i in range(20))
    for w in range(4):      # each writer's rows keep their order
        assert [r.params["a"] for r in rows if r.name == f"w{w}"] == [float(i) for i in range(20)]
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rows_round_trip(tmp_path):
    path = tmp_path / "h.sqlite"
    result = {"name": "decay", "params": {"a": 2.5, "b": float("nan")}, "stderr": {"a": 0.1, "b": None},
              "metrics": {"rmse": 0.2}, "converged": False, "status": "max_steps", "workbench_version": "9",
              "loss": 0.04, "data": {"path": "/d.csv", "sha256": "abc"}, "drift": [{"param": "a"}]}
    record_fit(path, result, source="sweep", label="params.b.init=2")
    [row] = read_rows(path)
    assert (row.name, row.params, row.stderr, row.converged, row.status) == (
        "decay", {"a": 2.5, "b": None}, {"a": 0.1, "b": None}, False, "max_steps")
    assert (row.source, row.label, row.data_sha256, row.drift, row.drift_detail) == (
        "sweep", "params.b.init=2", "abc", True, [{"param": "a"}])
    assert row.time.endswith("+00:00")


def _execute(path, sql: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql)
    conn.close()


def _unusable_files(tmp_path):
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all\n" * 50)
    truncated = tmp_path / "truncated.sqlite"
    append(truncated, _row())
    truncated.write_bytes(truncated.read_bytes()[:1500])
    foreign = tmp_path / "foreign.sqlite"
    _execute(foreign, "CREATE TABLE customers (id INTEGER, name TEXT)")
    future = tmp_path / "future.sqlite"
    append(future, _row())
    _execute(future, "UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    return {"garbage": garbage, "truncated": truncated, "foreign": foreign, "future": future}


@pytest.mark.parametrize("kind, says", [("garbage", "not an SQLite database"),
                                        ("truncated", "not a readable SQLite database"),
                                        ("foreign", "without its meta and fits tables"),
                                        ("future", "schema version '99'")])
def test_unusable_history_is_exit_2_and_untouched(tmp_path, kind, says):
    path = _unusable_files(tmp_path)[kind]
    before = path.read_bytes()
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{x},{2 * x + 1}\n" for x in range(10)))
    config = write_config(tmp_path, "data: d.csv\nmodel: {formula: 'y ~ a * x + b'}\n")
    fit = run_cli("fit", str(config), "--no-reports", "--out", str(tmp_path / "out"), "--history", str(path))
    listing = run_cli("history", str(path))
    for proc in (fit, listing):
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith(f"error: {path}: ") and says in proc.stderr
        assert proc.stderr.count("\n") == 1
    assert path.read_bytes() == before
    assert not (tmp_path / "out").exists()            # refused before the fit wrote anything
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(path.name)) == [path.name]
    with pytest.raises(InputError):
        record_fit(path, {"name": "x", "params": {}, "stderr": {}, "converged": True})
    assert path.read_bytes() == before


def test_empty_or_missing_file_is_a_new_history(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert check_history(empty) is False and check_history(tmp_path / "none.sqlite") is False
    append(empty, _row())
    assert check_history(empty) is True and len(read_rows(empty)) == 1


def test_history_command_of_a_missing_file_is_exit_2(tmp_path):
    proc = run_cli("history", str(tmp_path / "none.sqlite"))
    assert proc.returncode == 2 and "no refit history here" in proc.stderr
    assert not (tmp_path / "none.sqlite").exists()


@pytest.fixture
def three_nights(tmp_path):
    """A history of three fits of 'decay' and one of 'other'."""
    write_config(tmp_path, """
        name: decay
        data: d.csv
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: 0.2, c: 0.0}
        output: {dir: out, plots: false}
    """)
    rng = np.random.default_rng(0)
    x = np.linspace(0, 8, 40)
    for night in range(3):
        y = 3.0 * np.exp(-0.3 * x) + 1.0 + rng.normal(0, 0.02, x.size)
        (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{float(u)!r},{float(v)!r}\n" for u, v in zip(x, y)))
        proc = run_cli("fit", str(tmp_path / "config.yaml"), "--no-reports", "--history", "h.sqlite",
                       cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("fit", str(tmp_path / "config.yaml"), "--no-reports", "--history", "h.sqlite",
                   "--set", "name=other", "--set", "params.c.fixed=true", "--out", "out2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


def _csv(text: str) -> list[dict]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_a_row_per_fit_and_a_column_per_parameter(three_nights):
    proc = run_cli("history", "h.sqlite", "--format", "csv", "--name", "decay", cwd=three_nights)
    assert proc.returncode == 0, proc.stderr
    rows = _csv(proc.stdout)
    assert len(rows) == 3
    recorded = read_rows(three_nights / "h.sqlite", "decay")
    for line, row in zip(rows, recorded):
        assert line["name"] == "decay" and line["converged"] == "true" and line["drift"] == "false"
        for param in ("a", "b", "c"):
            assert float(line[param]) == row.params[param]
        assert float(line["se(b)"]) == row.stderr["b"] and float(line["rmse"]) == row.metrics["rmse"]
        assert line["data_sha256"] == row.data_sha256 and len(row.data_sha256) == 64
    assert len({line["data_sha256"] for line in rows}) == 3          # each night's data differs
    assert [line["time"] for line in rows] == sorted(line["time"] for line in rows)


def test_table_json_and_name_filter(three_nights):
    table = run_cli("history", "h.sqlite", cwd=three_nights)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:4] == ["time", "name", "converged", "a"] and len(lines) == 5
    b = read_rows(three_nights / "h.sqlite", "decay")[0]
    assert f"{b.params['b']:.6g} ± {b.stderr['b']:.2g}" in lines[1]
    assert lines[-1].split()[1] == "other" and lines[-1].rstrip().endswith("-")
    listed = json.loads(run_cli("history", "h.sqlite", "--format", "json", "--name", "other",
                                cwd=three_nights).stdout)
    assert [r["name"] for r in listed] == ["other"] and listed[0]["params"]["c"] == 0.0
    wrong = run_cli("history", "h.sqlite", "--name", "decya", cwd=three_nights)
    assert wrong.returncode == 2 and "did you mean 'decay'" in wrong.stderr


def test_html_page_draws_each_parameter_with_its_band(three_nights):
    before = (three_nights / "h.sqlite").read_bytes()
    proc = run_cli("history", "h.sqlite", "--html", "page.html", cwd=three_nights)
    assert proc.returncode == 0, proc.stderr
    page = (three_nights / "page.html").read_text()
    assert page.count('src="data:image/png;base64,') == 6          # decay: a, b, c; other: a, b, c
    assert '<img alt="b over time"' in page and "± 2 standard errors" in page
    assert "<h2>decay</h2>" in page and "<h2>other</h2>" in page
    assert (three_nights / "h.sqlite").read_bytes() == before


def test_output_history_is_relative_to_the_config_file(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "d.csv").write_text("x,y\n" + "".join(f"{x},{2 * x + 1 + (x % 3) * 0.01}\n" for x in range(12)))
    write_config(folder, "data: d.csv\nmodel: {formula: 'y ~ a * x + b'}\noutput: {history: ../hist.sqlite}\n")
    proc = run_cli("fit", str(folder / "config.yaml"), "--no-reports", "--out", str(tmp_path / "o"), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert [r.name for r in read_rows(tmp_path / "hist.sqlite")] == ["config"]
    assert f"history {(tmp_path / 'hist.sqlite').resolve()}: the first converged fit named 'config'" in proc.stdout


def _sweep(folder):
    (folder / "d.csv").write_text("x,y\n" + "".join(f"{x},{3 * 0.7 ** x + 1 + (x % 2) * 0.01}\n" for x in range(15)))
    write_config(folder, """
        name: decay
        data: d.csv
        model: {formula: "y ~ a * exp(-b * x) + c"}
        params: {a: 1.0, b: 0.2, c: 0.0}
        output: {plots: false, formats: []}
    """)
    return write_config(folder, """
        name: nightly-tuning
        base: config.yaml
        strategy: grid
        space:
          params.b.init: [0.1, 0.5]
        metric: loss
        output: out
    """, name="sweep.yaml")


def test_sweep_records_its_best_run(tmp_path):
    sweep = _sweep(tmp_path)
    proc = run_cli("sweep", str(sweep), "--workers", "1", "--history", "h.sqlite", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [row] = read_rows(tmp_path / "h.sqlite")
    assert (row.name, row.source, row.converged) == ("decay", "sweep", True)
    assert row.label.startswith("sweep nightly-tuning, run ") and "params.b.init=" in row.label
    key = row.label.split(", run ")[1].split(":")[0]
    best = json.loads((tmp_path / "out" / "runs" / key / "result.json").read_text())
    assert (row.params, row.stderr, row.data_sha256) == (best["params"], best["stderr"], best["data"]["sha256"])
    assert f"recorded the best run {key} in h.sqlite" in proc.stdout
    again = run_cli("sweep", str(sweep), "--workers", "1", "--history", "h.sqlite", cwd=tmp_path)
    assert again.returncode == 0 and len(read_rows(tmp_path / "h.sqlite")) == 1     # nothing ran: no new row


def test_sweep_with_a_corrupt_history_runs_nothing(tmp_path):
    sweep = _sweep(tmp_path)
    history = tmp_path / "h.sqlite"
    history.write_text("id,time\n1,yesterday\n")
    proc = run_cli("sweep", str(sweep), "--workers", "1", "--history", str(history), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith(f"error: {history}: ")
    assert history.read_text() == "id,time\n1,yesterday\n" and not (tmp_path / "out").exists()
