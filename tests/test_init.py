"""``workbench init`` never guesses the target; ``validate`` says how dates became numbers (issue 11, item 5)."""

from __future__ import annotations

import io
import sys

import yaml

import workbench.cli.init_cmd as init_cmd
from cli_helpers import run_cli, write_csv


def _sales(tmp_path):
    return write_csv(tmp_path, "sales.csv", "price,ads,region,units",
                     [(p, p % 3, "north", 100 - 5 * p) for p in range(1, 12)])


def test_target_option_picks_the_target_and_the_other_numeric_columns_are_inputs(tmp_path):
    _sales(tmp_path)
    proc = run_cli("init", "sales.csv", "--target", "price", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    model = yaml.safe_load((tmp_path / "sales.yaml").read_text())["model"]
    assert model == {"type": "linear", "inputs": ["ads", "units"], "target": "price"}
    assert proc.stdout.startswith("wrote sales.yaml: price ~ linear in ads, units")


def test_without_a_terminal_it_refuses_to_guess_listing_the_numeric_columns(tmp_path):
    _sales(tmp_path)
    proc = run_cli("init", "sales.csv", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "error: sales.csv: which column is the target? Give --target COLUMN, one of: price, ads, units\n"
    assert not (tmp_path / "sales.yaml").exists()


def test_unknown_or_text_target_is_refused_with_a_suggestion(tmp_path):
    _sales(tmp_path)
    proc = run_cli("init", "sales.csv", "--target", "unit", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == ("error: sales.csv: --target 'unit' is not a numeric column (did you mean 'units'?); "
                           "numeric columns: price, ads, units\n")
    assert run_cli("init", "sales.csv", "--target", "region", cwd=tmp_path).returncode == 2


def test_at_a_terminal_it_asks_until_the_answer_is_a_numeric_column(tmp_path, monkeypatch):
    _sales(tmp_path)
    monkeypatch.setattr(init_cmd, "stdin_is_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("region\nads\n"))
    proc = run_cli("init", "sales.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "numeric columns: price, ads, units" in proc.stdout
    assert yaml.safe_load((tmp_path / "sales.yaml").read_text())["model"]["target"] == "ads"


def test_validate_says_how_dates_were_converted(tmp_path):
    (tmp_path / "d.csv").write_text("day,y\n2017-03-06,1\n2017-03-08,2\n2017-03-10,3.1\n2017-03-13,4\n")
    (tmp_path / "c.yaml").write_text("data: {path: d.csv, dates: {day: null}}\nmodel: {formula: 'y ~ a * day + b'}\n"
                                     "params: {a: 1, b: 0}\n")
    proc = run_cli("validate", "c.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "dates     day = days since 2017-03-06\n" in proc.stdout
