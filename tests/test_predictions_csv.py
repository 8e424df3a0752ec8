"""predictions.csv: every value reads back as written, and writing it does not import pandas."""

from __future__ import annotations

import csv
import subprocess
import sys
from types import SimpleNamespace

import numpy as np

from workbench.pipeline.outputs import write_predictions


def test_text_with_commas_quotes_and_line_breaks_reads_back_exactly(tmp_path):
    names = np.array(["north.csv", 'say "hi".csv', "a,b.csv", "two\nlines.csv"])
    sets = SimpleNamespace(codes=np.array([0, 1, 0, 1]), categories=["train", "validation"])
    values = np.array([1.5, np.nan, 3e-7, -2.0])
    path = write_predictions(tmp_path, {"prediction": values, "set": sets, "file": names})
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["prediction", "set", "file"]
    assert [r[2] for r in rows[1:]] == list(names)
    assert [r[1] for r in rows[1:]] == ["train", "validation", "train", "validation"]
    read = np.array([float(r[0]) for r in rows[1:]])
    assert np.array_equal(read, values, equal_nan=True)


def test_plain_values_are_written_without_quotes(tmp_path):
    sets = SimpleNamespace(codes=np.array([0, 1]), categories=["train", "validation"])
    path = write_predictions(tmp_path, {"prediction": np.array([1.0, 2.0]), "set": sets})
    assert path.read_text().splitlines() == ["prediction,set", "1,train", "2,validation"]


def test_writing_predictions_does_not_import_pandas(tmp_path):
    code = ("import sys, numpy as np; from pathlib import Path; "
            "from workbench.pipeline.outputs import write_predictions; "
            f"write_predictions(Path({str(tmp_path)!r}), {{'prediction': np.arange(3.0), 'file': np.array(['a', 'b', 'c'])}}); "
            "print('pandas' in sys.modules)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "False"
