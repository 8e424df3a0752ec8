"""With a scheduler and a glob of several files, the client never reads the table: the workers
read the files, and the fit, its metrics and its predictions equal the single-machine fit's."""

from __future__ import annotations

import json

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from workbench.config import load_config  # noqa: E402
from workbench.pipeline.fit import run_fit  # noqa: E402

DECAY = """name: decay
data: {path: parts/*.csv}
model: {formula: "y ~ a * exp(-b * x) + c"}
params: {a: 1.0, b: 0.3, c: 0.0}
validation: 0.2
seed: 3
output: {plots: false, predictions: csv}
execution: {chunk_rows: 40}
"""

LINEAR = """name: lin
data: {path: parts/*.parquet}
model: {type: linear, inputs: [x1, x2], target: y}
output: {plots: false, predictions: parquet}
execution: {chunk_rows: 64}
"""


@pytest.fixture
def client_reads(monkeypatch):
    """Rows the client process reads from data files (tasks run in the workers' processes)."""
    from workbench.data import source

    counted = []
    real = source.read_raw

    def counting(*args, **kwargs):
        table = real(*args, **kwargs)
        counted.append(len(table.row_numbers))
        return table

    monkeypatch.setattr(source, "read_raw", counting)
    return counted


def _decay_files(folder, n_files: int = 6) -> int:
    rng = np.random.default_rng(5)
    (folder / "parts").mkdir()
    total = 0
    for i in range(n_files):
        x = np.linspace(0.0, 5.0, 40) + 0.01 * i
        y = 2.0 * np.exp(-0.7 * x) + 0.3 + rng.normal(0.0, 0.02, x.size)
        lines = [f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)]
        if i == 2:
            lines[4] = f"{float(x[4])!r},"            # an empty target: a dropped row of the third file
        (folder / "parts" / f"p{i}.csv").write_text("x,y\n" + "\n".join(lines) + "\n")
        total += len(lines)
    (folder / "c.yaml").write_text(DECAY)
    return total


def test_a_decay_fit_with_held_out_rows_equals_the_single_machine_fit(tmp_path, cluster, client_reads):
    total = _decay_files(tmp_path)
    local = run_fit(load_config(tmp_path / "c.yaml"), tmp_path / "local", reports=False)
    client_reads.clear()
    config = load_config(tmp_path / "c.yaml", [f"execution.scheduler={cluster.scheduler_address}"])
    remote = run_fit(config, tmp_path / "remote", reports=False)

    assert client_reads == []                          # not one row of any file read by the client
    assert remote.converged and local.converged
    mine, theirs = remote.result, local.result
    for name, value in theirs["params"].items():
        assert mine["params"][name] == pytest.approx(value, rel=1e-9)
        assert mine["stderr"][name] == pytest.approx(theirs["stderr"][name], rel=1e-7)
    for key in ("r2", "rmse", "mae", "chi_square", "aic", "n"):
        assert mine["metrics"][key] == pytest.approx(theirs["metrics"][key], rel=1e-9)
    for key in ("r2", "rmse", "n"):
        assert mine["validation_metrics"][key] == pytest.approx(theirs["validation_metrics"][key], rel=1e-9)
    assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-9)
    assert mine["val_loss"] == pytest.approx(theirs["val_loss"], rel=1e-9)
    assert mine["data"]["rows_used"] == theirs["data"]["rows_used"] == total - 1
    assert mine["data"]["dropped"] == theirs["data"]["dropped"]
    assert mine["prediction"]["input_ranges"] == theirs["prediction"]["input_ranges"]
    assert mine["prediction"]["residual_variance"] == pytest.approx(theirs["prediction"]["residual_variance"],
                                                                     rel=1e-9)
    assert mine["execution"] == {**mine["execution"], "scheduler": cluster.scheduler_address, "files": 6,
                                 "rows": total - 1, "sampled_rows": total - 1}

    parts = sorted((tmp_path / "remote" / "predictions").iterdir())
    assert [p.name for p in parts] == [f"part-{i:05d}.csv" for i in range(6)]
    from pyarrow import csv as arrow_csv

    whole = arrow_csv.read_csv(tmp_path / "local" / "predictions.csv")
    joined = pa.concat_tables([arrow_csv.read_csv(p) for p in parts])
    assert joined.column_names == whole.column_names
    assert joined.num_rows == whole.num_rows == total - 1
    for name in ("row", "x", "y"):
        assert joined[name].to_pylist() == whole[name].to_pylist()
    for name in ("file", "set"):
        assert joined[name].to_pylist() == whole[name].to_pylist()    # the same rows held out
    np.testing.assert_allclose(joined["prediction"].to_numpy(), whole["prediction"].to_numpy(), rtol=1e-9)
    manifest = json.loads((tmp_path / "remote" / "manifest.json").read_text())
    assert [f"predictions/part-{i:05d}.csv" for i in range(6)] == [f for f in manifest["files"] if "part-" in f]

    # a second fit into the same folder replaces the first (the parts folder is the fit's own)
    again = run_fit(config, tmp_path / "remote", reports=False)
    assert again.result["params"] == remote.result["params"]


def test_a_linear_fit_of_parquet_files_samples_the_client_and_solves_on_every_row(tmp_path, cluster, client_reads,
                                                                                  monkeypatch):
    from workbench.pipeline import dask_data

    rng = np.random.default_rng(8)
    (tmp_path / "parts").mkdir()
    for i in range(6):
        x1, x2 = rng.normal(size=300), rng.uniform(0, 10, 300)
        y = 1.5 + 2.0 * x1 - 0.4 * x2 + rng.normal(0, 0.1, 300)
        pq.write_table(pa.table({"x1": x1, "x2": x2, "y": y}), tmp_path / "parts" / f"q{i}.parquet")
    (tmp_path / "c.yaml").write_text(LINEAR)
    monkeypatch.setattr(dask_data, "SAMPLE_ROWS", 250)     # fewer sampled rows than the table's 1,800
    local = run_fit(load_config(tmp_path / "c.yaml"), tmp_path / "local", reports=False)
    client_reads.clear()
    remote = run_fit(load_config(tmp_path / "c.yaml", [f"execution.scheduler={cluster.scheduler_address}"]),
                     tmp_path / "remote", reports=False)

    assert client_reads == []
    assert remote.result["execution"]["sampled_rows"] == 250
    assert len(remote.predictions["prediction"]) == 250          # what the plots and report tables draw
    assert "closed form" in remote.result["message"] and "1,800 ×" in remote.result["message"]
    for name, value in local.result["params"].items():
        assert remote.result["params"][name] == pytest.approx(value, rel=1e-9)
        assert remote.result["stderr"][name] == pytest.approx(local.result["stderr"][name], rel=1e-7)
    assert remote.result["metrics"]["r2"] == pytest.approx(local.result["metrics"]["r2"], rel=1e-12)
    assert remote.result["loss"] == pytest.approx(local.result["loss"], rel=1e-9)
    assert remote.history[-1]["loss"] == pytest.approx(local.history[-1]["loss"], rel=1e-9)   # on every row
    parts = sorted((tmp_path / "remote" / "predictions").iterdir())
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    assert len(parts) == 6 and table.num_rows == 1800
    assert table.column("file").to_pylist()[::300] == [f"q{i}.parquet" for i in range(6)]
    whole = pq.read_table(tmp_path / "local" / "predictions.parquet")
    assert table.column_names == whole.column_names
    np.testing.assert_allclose(table["prediction"].to_numpy(), whole["prediction"].to_numpy(), rtol=1e-9)


def test_minibatches_with_several_files_on_a_scheduler_are_refused_before_connecting(tmp_path):
    from workbench.errors import InputError
    from workbench.pipeline.prepare import prepare

    _decay_files(tmp_path, n_files=2)
    config = load_config(tmp_path / "c.yaml", ["execution.scheduler=tcp://127.0.0.1:9", "optimizer.name=adam",
                                               "optimizer.batch_size=10"])
    with pytest.raises(InputError, match="optimizer.batch_size"):
        prepare(config)
