"""Formulas that are not finite at the starting values end in exit 2 naming the row, the column and
the sub-expression (issue 9); an infinite derivative alone is still a divergence (exit 3)."""

from __future__ import annotations

import numpy as np
import pytest

from cli_helpers import run_main, write_config, write_csv

NESTED_EXP = "exp(" * 90 + "x" + ")" * 90


@pytest.mark.parametrize("formula, params, words", [
    ("y ~ a / (x - x)", "{a: 1}", "division by zero at row 2, column x = 1, in a / (x - x)"),
    ("y ~ a * log(-x)", "{a: 1}", "log of a negative value at row 2, column x = 1, in log(-x)"),
    ("y ~ exp(exp(exp(x))) * a", "{a: 1}", "exp overflows at row 8, column x = 7, in exp(exp(x))"),
    (f"y ~ a * {NESTED_EXP}", "{a: 1}", "exp overflows at row 8, column x = 7, in exp(exp(x))"),
    ("y ~ K / (1 + exp(-r * (x - t0)))", "{K: 1, r: -300, t0: 10}",
     "exp overflows at row 14, column x = 13, in exp(-r * (x - t0))"),
])
def test_non_finite_start_exits_2_naming_row_column_and_subexpression(tmp_path, capsys, formula, params, words):
    x = np.arange(1, 21.0)
    write_csv(tmp_path, "d.csv", "x,y", zip(x, 2 * x + 1))
    config = write_config(tmp_path, f'data: {{path: d.csv}}\nmodel: {{formula: "{formula}"}}\n'
                                    f'params: {params}\noutput: {{dir: out, formats: []}}\n')
    assert run_main("fit", str(config)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0] and "model.formula" in err[0]
    assert "Traceback" not in err[0] and "LinAlgError" not in err[0]
    assert not (tmp_path / "out").exists()
