"""``data.path`` as a glob of CSV/Parquet files (workbench.data.multi): one table, file after file."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.config import load_config
from workbench.data import load_dataset
from workbench.errors import InputError
from workbench.pipeline.fit import run_fit


def _write_parts(folder, n=90, parts=3, suffix="csv"):
    """The same decay data whole (all.csv) and split in ``parts`` files under parts/."""
    rng = np.random.default_rng(7)
    x = np.linspace(0.0, 5.0, n)
    y = 2.0 * np.exp(-0.7 * x) + 0.3 + rng.normal(0.0, 0.02, n)
    (folder / "all.csv").write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    (folder / "parts").mkdir()
    for i, rows in enumerate(np.array_split(np.arange(n), parts)):
        path = folder / "parts" / f"part-{i}.{suffix}"
        if suffix == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"x": x[rows], "y": y[rows]}), path)
        else:
            path.write_text("x,y\n" + "".join(f"{float(x[r])!r},{float(y[r])!r}\n" for r in rows))
    return x, y


CONFIG = """name: decay
data: {{path: {path}}}
model: {{formula: "y ~ a * exp(-b * x) + c"}}
params: {{a: 1.0, b: 0.3, c: 0.0}}
output: {{plots: false}}
"""


def _fit(folder, path, name, *overrides):
    config = folder / f"{name}.yaml"
    config.write_text(CONFIG.format(path=path))
    return run_fit(load_config(config, list(overrides)), folder / name, reports=False)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_glob_of_files_fits_like_the_whole_file(tmp_path, suffix):
    _write_parts(tmp_path, suffix=suffix)
    whole = _fit(tmp_path, "all.csv", "whole")
    split = _fit(tmp_path, f"parts/part-*.{suffix}", "split")
    for name, value in whole.result["params"].items():
        assert split.result["params"][name] == pytest.approx(value, rel=1e-12)
        assert split.result["stderr"][name] == pytest.approx(whole.result["stderr"][name], rel=1e-9)
    data = split.result["data"]
    assert [p.split("/")[-1] for p in data["files"]] == [f"part-{i}.{suffix}" for i in range(3)]
    assert data["rows_used"] == 90 and data["rows_read"] == 90
    # the row numbers are each file's own rows, and the file column says which file
    assert list(split.predictions["row"][:2]) == [2, 3] and split.predictions["row"][30] == 2
    assert list(split.predictions["file"][29:31]) == [f"part-0.{suffix}", f"part-1.{suffix}"]


def test_a_bad_cell_is_named_by_its_file_and_row(tmp_path):
    _write_parts(tmp_path)
    lines = (tmp_path / "parts" / "part-1.csv").read_text().splitlines()
    lines[4] = "1.5,abc"
    (tmp_path / "parts" / "part-1.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as err:
        load_dataset({"path": str(tmp_path / "parts" / "part-*.csv")}, ["x", "y"])
    assert "part-1.csv" in str(err.value) and "row 5" in str(err.value)


def test_files_with_other_columns_and_a_pattern_matching_nothing_are_refused(tmp_path):
    _write_parts(tmp_path)
    (tmp_path / "parts" / "part-9.csv").write_text("x,z\n1,2\n")
    with pytest.raises(InputError, match="part-9.csv has the columns x, z but part-0.csv has x, y"):
        load_dataset({"path": str(tmp_path / "parts" / "part-*.csv")}, ["x"])
    with pytest.raises(InputError, match="no file matches"):
        load_dataset({"path": str(tmp_path / "nothing-*.csv")}, ["x"])


def test_cells_with_whitespace_of_any_script_are_trimmed_and_plain_columns_are_read_as_they_are(tmp_path):
    (tmp_path / "w.csv").write_text("a,b\n\u3000 1.5,-2\n2\u00a0,+3.25\n\t-4 ,.5\n", encoding="utf-8")
    data = load_dataset({"path": str(tmp_path / "w.csv")}, ["a", "b"])
    assert data.columns["a"].tolist() == [1.5, 2.0, -4.0]
    assert data.columns["b"].tolist() == [-2.0, 3.25, 0.5]
